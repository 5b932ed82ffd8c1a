/** meshProblems(): the cross-resource rules `weft check` and the constructs share, on raw resources. */
import { effectiveMtlsMode, meshProblems, ruleCovers } from '../../api/mesh-rules';
import type { WeftResource } from '../../api/resources';

const R = (kind: string, name: string, spec: unknown, namespace?: string, annotations?: Record<string, string>) =>
  ({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name, ...(namespace ? { namespace } : {}), ...(annotations ? { annotations } : {}) }, spec }) as WeftResource<unknown>;

const svc = (name: string, extra: object = {}, ns = 'shop', annotations?: Record<string, string>) => R('MeshService', name, {
  serviceAccount: name, interception: 'iptables',
  ports: [{ name: 'http', port: 9080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 0 }], ...extra,
}, ns, annotations);
const cfg = (mode = 'PERMISSIVE') => R('MeshConfig', 'mesh', {
  trustDomain: 'shop.local', defaultMtlsMode: mode, defaultInboundPolicy: 'allow', proxyImage: 'w:1', controlPlaneImage: 'w:1',
  controlPlane: { namespace: 'weft-system', service: 'weft-control-plane', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
});
const codes = (rs: WeftResource<unknown>[]) => meshProblems(rs).map((p) => `${p.code} ${p.kind}/${p.name} ${p.field}`);

test('a consistent mesh has no problems', () => {
  expect(meshProblems([cfg(), svc('a', { calls: [{ name: 'b' }] }), svc('b')])).toEqual([]);
});

test('schema-invalid resources are reported once and skipped by later rules', () => {
  expect(codes([svc('a', { interception: 'magic' })])).toEqual(['WEFT_ERR_INVALID_RESOURCE MeshService/a spec']);
});

test('duplicates point at the later resource by index', () => {
  const p = meshProblems([svc('a'), svc('a')]);
  expect(p).toEqual([expect.objectContaining({ code: 'WEFT_ERR_DUPLICATE_NAME', index: 1 })]);
  // The same name in another namespace is another service.
  expect(meshProblems([svc('a'), svc('a', {}, 'other')])).toEqual([]);
});

test('route rules: weights, versions, zero replicas, protocol, shadowing, conflicts, retry budget', () => {
  const route = (name: string, routes: unknown[], extra: object = {}) => R('CanaryRoute', name, { service: { name: 'a' }, routes, ...extra }, 'shop');
  const rs = [
    svc('a', { trafficPolicy: { timeout: '1s' } }),
    svc('db', { ports: [{ name: 'pg', port: 5432, protocol: 'tcp' }] }),
    route('r1', [
      { name: 'w', backends: [{ version: 'v1', weight: 60 }, { version: 'v9', weight: 30 }] },
      { name: 'z', match: [{ path: { prefix: '/x' } }], backends: [{ version: 'v2', weight: 100 }] },
      { name: 'slow', match: [{ method: 'GET' }], timeout: '1s', retries: { attempts: 2, on: ['5xx'], perTryTimeout: '400ms' }, backends: [{ version: 'v1', weight: 100 }] },
    ]),
    route('r2', [{ backends: [{ version: 'v1', weight: 100 }] }]),
    R('CanaryRoute', 'tcp', { service: { name: 'db' }, routes: [{ match: [{ method: 'GET' }], backends: [{ version: 'v1', weight: 100 }] }] }, 'shop'),
  ];
  expect(codes(rs)).toEqual([
    'WEFT_ERR_INVALID_WEIGHT CanaryRoute/r1 spec.routes[0].backends',
    'WEFT_ERR_UNKNOWN_VERSION CanaryRoute/r1 spec.routes[0].backends[1].version',
    'WEFT_ERR_ZERO_REPLICAS CanaryRoute/r1 spec.routes[1].backends[0].weight',
    'WEFT_ERR_SHADOWED_MATCH CanaryRoute/r1 spec.routes[1].match',
    'WEFT_ERR_RETRY_EXCEEDS_TIMEOUT CanaryRoute/r1 spec.routes[2].retries',
    'WEFT_ERR_SHADOWED_MATCH CanaryRoute/r1 spec.routes[2].match',
    'WEFT_ERR_ROUTE_CONFLICT CanaryRoute/r2 spec.port',
    'WEFT_ERR_PROTOCOL_MISMATCH CanaryRoute/tcp spec.routes[0]',
  ]);
});

test('ruleCovers is conservative: only certain shadowing counts', () => {
  const r = (match?: object[]) => ({ match, backends: [] }) as never;
  expect(ruleCovers(r(), r([{ method: 'GET' }]))).toBe(true);
  expect(ruleCovers(r([{ path: { prefix: '/' } }]), r())).toBe(true);
  expect(ruleCovers(r([{ path: { prefix: '/api' } }]), r([{ path: { exact: '/api/v1' }, method: 'GET' }]))).toBe(true);
  expect(ruleCovers(r([{ path: { prefix: '/api' }, method: 'GET' }]), r([{ path: { prefix: '/api' } }]))).toBe(false);
  expect(ruleCovers(r([{ headers: [{ name: 'x', exact: '1' }] }]), r([{ headers: [{ name: 'x', exact: '2' }] }]))).toBe(false);
  expect(ruleCovers(r([{ path: { regex: '^/a' } }]), r([{ path: { exact: '/a' } }]))).toBe(false);
  expect(ruleCovers(r([{ method: 'GET' }]), r())).toBe(false);
});

test('mTLS precedence: port > service > namespace > mesh (root namespace) > MeshConfig', () => {
  const port = { name: 'http', port: 9080, protocol: 'http' as const };
  const pol = (name: string, ns: string, scope: object | undefined, mode: string) => R('MtlsPolicy', name, { ...(scope ? { scope } : {}), mode }, ns) as never;
  const all = [pol('mesh', 'weft-system', undefined, 'STRICT'), pol('ns', 'shop', undefined, 'PERMISSIVE'), pol('svc', 'shop', { service: 'a' }, 'STRICT'), pol('port', 'shop', { service: 'a', port: 9080 }, 'DISABLE')];
  const at = (ps: never[]) => effectiveMtlsMode({ ns: 'shop', name: 'a', port }, ps, cfg() as never);
  expect(at(all).mode).toBe('DISABLE');
  expect(at(all.slice(0, 3)).mode).toBe('STRICT');
  expect(at(all.slice(0, 2)).mode).toBe('PERMISSIVE');
  expect(at(all.slice(0, 1))).toMatchObject({ mode: 'STRICT', decidedBy: { metadata: { name: 'mesh' } } });
  expect(at([])).toMatchObject({ mode: 'PERMISSIVE', decidedBy: { kind: 'MeshConfig' } });
});

test('an unmeshed caller of a STRICT service is reported on the policy that made it STRICT', () => {
  const rs = [cfg(), svc('legacy', { calls: [{ name: 'a' }] }, 'shop', { 'weft.dev/meshed': 'false' }), svc('a'), R('MtlsPolicy', 'strict', { scope: { service: 'a' }, mode: 'STRICT' }, 'shop')];
  expect(codes(rs)).toEqual(['WEFT_ERR_UNMESHED_CALLER MtlsPolicy/strict spec.mode']);
  expect(codes([cfg('STRICT'), ...rs.slice(1, 3)])).toEqual(['WEFT_ERR_UNMESHED_CALLER MeshConfig/mesh spec.defaultMtlsMode']);
});

test('policy identities, scopes and ports must exist', () => {
  const pol = (spec: object, ns = 'shop') => R('MtlsPolicy', 'p', spec, ns);
  const rs = [cfg(), svc('a')];
  expect(codes([...rs, pol({ rules: [{ action: 'ALLOW', from: [{ principals: ['spiffe://other.local/ns/shop/sa/a', 'spiffe://shop.local/ns/shop/sa/a', 'spiffe://shop.local/ns/*'] }] }] })]))
    .toEqual(['WEFT_ERR_UNKNOWN_IDENTITY MtlsPolicy/p spec.rules[0].from[0].principals']);
  expect(codes([...rs, pol({ rules: [{ action: 'DENY', from: [{ serviceAccounts: ['shop/b', 'a'], namespaces: ['nowhere'], services: [{ name: 'c' }] }] }] })])).toEqual([
    'WEFT_ERR_UNKNOWN_IDENTITY MtlsPolicy/p spec.rules[0].from[0].serviceAccounts',
    'WEFT_ERR_UNKNOWN_IDENTITY MtlsPolicy/p spec.rules[0].from[0].namespaces',
    'WEFT_ERR_UNKNOWN_IDENTITY MtlsPolicy/p spec.rules[0].from[0].services',
  ]);
  expect(codes([...rs, pol({ scope: { port: 80 }, mode: 'STRICT' })])).toEqual(['WEFT_ERR_INVALID_SCOPE MtlsPolicy/p spec.scope.port']);
  expect(codes([...rs, pol({ scope: { service: 'a', port: 80 }, mode: 'STRICT' })])).toEqual(['WEFT_ERR_UNKNOWN_PORT MtlsPolicy/p spec.scope.port']);
  expect(codes([...rs, pol({ scope: { service: 'zz' }, mode: 'STRICT' })])).toEqual(['WEFT_ERR_UNKNOWN_SERVICE MtlsPolicy/p spec.scope.service']);
  expect(codes([...rs, pol({ scope: { namespace: 'other' }, mode: 'STRICT' })])).toEqual(['WEFT_ERR_INVALID_SCOPE MtlsPolicy/p spec.scope.namespace']);
  expect(codes([...rs, pol({ scope: { namespace: 'shop' }, mode: 'STRICT' }, 'weft-system')])).toEqual([]);
});

test('services: reserved ports, unknown callees, duplicate ports and versions, two MeshConfigs', () => {
  const rs = [
    cfg(), R('MeshConfig', 'mesh2', (cfg().spec)),
    svc('a', { ports: [{ name: 'http', port: 15001, protocol: 'http' }, { name: 'http', port: 80, targetPort: 15020, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v1', replicas: 1 }], calls: [{ name: 'ghost', namespace: 'x' }] }),
  ];
  expect(codes(rs)).toEqual([
    'WEFT_ERR_MULTIPLE_MESHES MeshConfig/mesh2 metadata.name',
    'WEFT_ERR_DUPLICATE_NAME MeshService/a spec.ports[1].name',
    'WEFT_ERR_DUPLICATE_NAME MeshService/a spec.versions[1].name',
    'WEFT_ERR_RESERVED_PORT MeshService/a spec.ports[0].port',
    'WEFT_ERR_RESERVED_PORT MeshService/a spec.ports[1].targetPort',
    'WEFT_ERR_UNKNOWN_SERVICE MeshService/a spec.calls[0]',
  ]);
});

test('calls: a service calling itself, a version calling an unknown service', () => {
  expect(codes([svc('a', { calls: [{ name: 'a' }] })])).toEqual(['WEFT_ERR_SELF_CALL MeshService/a spec.calls[0]']);
  expect(codes([svc('a', { versions: [{ name: 'v1', replicas: 1, calls: [{ name: 'ghost' }] }] })])).toEqual(['WEFT_ERR_UNKNOWN_SERVICE MeshService/a spec.versions[0].calls[0]']);
});

test('STRICT scoped to a service without a sidecar is reported on the policy; mesh-wide STRICT is not', () => {
  const legacy = svc('legacy', {}, 'shop', { 'weft.dev/meshed': 'false' });
  const scoped = R('MtlsPolicy', 'p', { scope: { service: 'legacy' }, mode: 'STRICT' }, 'shop');
  expect(codes([cfg(), legacy, scoped])).toEqual(['WEFT_ERR_STRICT_UNMESHED MtlsPolicy/p spec.mode']);
  expect(codes([cfg('STRICT'), legacy])).toEqual([]);
});

test('a mesh reference (one repository\'s part) accepts calls and policy sources naming services elsewhere', () => {
  const ref = { ...cfg(), metadata: { name: 'mesh', annotations: { 'weft.dev/mesh-reference': 'true' } } } as WeftResource<unknown>;
  const policy = R('MtlsPolicy', 'p', { scope: { service: 'a' }, rules: [{ action: 'ALLOW', from: [{ services: [{ name: 'web', namespace: 'web' }], namespaces: ['web'] }] }] }, 'shop');
  const a = svc('a', { calls: [{ name: 'payments', namespace: 'payments' }] });
  expect(codes([ref, a, policy])).toEqual([]);
  expect(codes([cfg(), a, policy]).map((c) => c.split(' ')[0]).sort()).toEqual(['WEFT_ERR_UNKNOWN_IDENTITY', 'WEFT_ERR_UNKNOWN_IDENTITY', 'WEFT_ERR_UNKNOWN_SERVICE']);
});
