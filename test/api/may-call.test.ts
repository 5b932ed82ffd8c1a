/** The offline "may A call B?" helper against meshes built by buildModel, checked case by case against authorize. */
import { authorize } from '../../api/authz';
import { buildModel } from '../../api/build-model';
import { mayCall, meshModelOf } from '../../api/may-call';
import { API_VERSION, WeftResource } from '../../api/resources';

const res = (kind: WeftResource<unknown>['kind'], name: string, spec: unknown, namespace?: string): WeftResource<unknown> =>
  ({ apiVersion: API_VERSION, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec }) as WeftResource<unknown>;

const svc = (name: string, ns: string, ports: { name: string; port: number; protocol: string }[], calls: { name: string; namespace?: string }[] = []) =>
  res('MeshService', name, { serviceAccount: name, ports, versions: [{ name: 'v1', replicas: 1 }], interception: 'explicit', calls }, ns);

function shop(defaultInboundPolicy: 'allow' | 'deny') {
  return [
    res('MeshConfig', 'mesh', {
      trustDomain: 'shop.local', defaultMtlsMode: 'PERMISSIVE', defaultInboundPolicy, proxyImage: 'weft/proxy:1', controlPlaneImage: 'weft/cp:1',
      controlPlane: { namespace: 'weft-system', service: 'weft', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
    }),
    svc('web', 'shop', [{ name: 'http', port: 80, protocol: 'http' }], [{ name: 'cart' }]),
    svc('cart', 'shop', [{ name: 'http', port: 8080, protocol: 'http' }, { name: 'grpc', port: 9090, protocol: 'grpc' }]),
    svc('batch', 'ops', [{ name: 'http', port: 80, protocol: 'http' }]),
    svc('ledger', 'shop', [{ name: 'http', port: 8080, protocol: 'http' }]),
    res('MtlsPolicy', 'cart-strict', { scope: { service: 'cart', port: 8080 }, mode: 'STRICT' }, 'shop'),
    res('MtlsPolicy', 'cart-authz', {
      scope: { service: 'cart' },
      rules: [
        { name: 'no-admin', action: 'DENY', to: [{ paths: ['/admin/*'] }] },
        { name: 'batch-reads', action: 'ALLOW', from: [{ namespaces: ['ops'] }], to: [{ methods: ['GET'] }] },
        { name: 'audit-deletes', action: 'AUDIT', to: [{ methods: ['DELETE'] }] },
      ],
    }, 'shop'),
    res('MtlsPolicy', 'ledger-plain', { scope: { service: 'ledger' }, mode: 'DISABLE', rules: [{ name: 'health', action: 'ALLOW', to: [{ paths: ['/healthz'] }] }] }, 'shop'),
  ];
}

type Row = [string, 'allow' | 'deny', Parameters<typeof mayCall>[1], boolean, string];
const web = { service: 'web', namespace: 'shop' };
const batch = { service: 'batch', namespace: 'ops' };
const cart = (port?: number | string) => ({ service: 'cart', namespace: 'shop', port });

const table: Row[] = [
  ['web → cart GET (declared call, deny mesh)', 'deny', { from: web, to: cart(8080), method: 'GET', path: '/items' }, true, 'allowed_by_policy'],
  ['web → cart /admin (DENY beats the calls ALLOW)', 'deny', { from: web, to: cart(8080), path: '/admin/users' }, false, 'denied_by_policy'],
  ['batch → cart GET (namespace ALLOW)', 'deny', { from: batch, to: cart(8080), method: 'GET' }, true, 'allowed_by_policy'],
  ['batch → cart POST (no ALLOW matches)', 'deny', { from: batch, to: cart('grpc'), method: 'POST', path: '/cart.Cart/Add' }, false, 'no_matching_allow'],
  ['web → batch (deny mesh, no ALLOW for batch)', 'deny', { from: web, to: { service: 'batch', namespace: 'ops' } }, false, 'default_deny'],
  ['web → batch (allow mesh)', 'allow', { from: web, to: { service: 'batch', namespace: 'ops' } }, true, 'default_allow'],
  ['web → cart GET (allow mesh: the ALLOW for ops flips cart to default-deny)', 'allow', { from: web, to: cart(8080), method: 'GET' }, false, 'no_matching_allow'],
  ['unmeshed → cart:8080 STRICT', 'allow', { from: 'unmeshed', to: cart(8080), method: 'GET' }, false, 'plaintext_refused'],
  ['unmeshed → cart:9090 PERMISSIVE, no identity for the ALLOW', 'allow', { from: 'unmeshed', to: cart(9090), method: 'GET' }, false, 'no_matching_allow'],
  ['batch → ledger /healthz over DISABLE (plaintext, op-only ALLOW)', 'deny', { from: batch, to: { service: 'ledger', namespace: 'shop' }, path: '/healthz' }, true, 'allowed_by_policy'],
  ['batch → ledger /books over DISABLE', 'deny', { from: batch, to: { service: 'ledger', namespace: 'shop' }, path: '/books' }, false, 'no_matching_allow'],
  ['batch → cart DELETE is audited and denied', 'deny', { from: batch, to: cart(8080), method: 'DELETE' }, false, 'no_matching_allow'],
];

describe.each(['allow', 'deny'] as const)('mesh default %s', (mode) => {
  const resources = shop(mode);
  const built = buildModel(resources, []);
  test('every resource is accepted', () => {
    expect(built.statuses.filter((s) => !s.accepted)).toEqual([]);
  });
  test.each(table.filter((r) => r[1] === mode))('%s', (_n, _m, q, allowed, reason) => {
    const d = mayCall(resources, q);
    expect({ allowed: d.allowed, reason: d.reason }).toEqual({ allowed, reason });
    // The same answer from the model and from a cdk8s-style object holding the manifests.
    expect(mayCall(built.model, q)).toEqual(d);
    expect(mayCall({ toJson: () => [{ apiVersion: 'apps/v1', kind: 'Deployment' }, ...resources] }, q)).toEqual(d);
    // And exactly what authorize says for the same request (except the transport refusal, which authz never sees).
    if (d.reason !== 'plaintext_refused') {
      const model = meshModelOf(resources);
      const a = authorize(model.policies, {
        principal: d.principal, destination: { service: q.to.service, namespace: q.to.namespace ?? 'default' },
        port: d.port, path: q.path ?? '/', method: q.method ?? 'GET',
      }, { defaultInboundPolicy: model.mesh.defaultInboundPolicy });
      expect(a).toEqual({ allowed: d.allowed, reason: d.reason, policy: d.policy, audited: d.audited, ...(d.detail ? { detail: d.detail } : {}) });
    }
  });
});

test('the audit rule is reported, and the deciding policy is named', () => {
  const d = mayCall(shop('deny'), { from: batch, to: cart(8080), method: 'DELETE' });
  expect(d.audited).toEqual(['shop/cart-authz#audit-deletes']);
  expect(mayCall(shop('deny'), { from: web, to: cart(8080), path: '/admin/x' }).policy).toBe('shop/cart-authz#no-admin');
});

test('naming a service or port the mesh lacks is a coded error, not a silent deny', () => {
  expect(() => mayCall(shop('allow'), { from: web, to: { service: 'ghost', namespace: 'shop' } })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_MAY_CALL_UNKNOWN_SERVICE' }));
  expect(() => mayCall(shop('allow'), { from: web, to: cart(1234) })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_MAY_CALL_UNKNOWN_PORT' }));
  expect(() => mayCall(shop('allow'), { from: { service: 'ghost' }, to: cart() })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_MAY_CALL_UNKNOWN_SERVICE' }));
});
