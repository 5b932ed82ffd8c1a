/** MtlsPolicy: scopes, allow/deny/audit rules, and the MtlsPolicy resource. */
import { resourceProblems } from '../../api/crds';
import { MeshService, MtlsMode, MtlsPolicy, Protocol } from '../../constructs';
import { expectCode, find, fixture, synth } from './support';

function setup() {
  const f = fixture();
  const web = new MeshService(f.chart, 'web', { mesh: f.mesh, image: 'w:1', port: 8080, protocol: Protocol.HTTP });
  const api = new MeshService(f.chart, 'api', { mesh: f.mesh, image: 'a:1', port: 9080, protocol: Protocol.HTTP });
  api.addPort({ port: 5432, protocol: Protocol.TCP });
  web.calls(api);
  return { ...f, web, api };
}

test('mesh scope lives in the control-plane namespace without a scope (Istio root-namespace semantics)', () => {
  const { chart, mesh } = setup();
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
  const p = find(synth(chart), 'MtlsPolicy', 'strict');
  expect(p.metadata.namespace).toBe('weft-system');
  expect(p.spec).toEqual({ mode: 'STRICT' });
});

test('namespace, service and port scopes', () => {
  const { chart, mesh, api } = setup();
  new MtlsPolicy(chart, 'ns', { mesh, namespace: 'shop', mode: MtlsMode.STRICT });
  new MtlsPolicy(chart, 'svc', { mesh, service: api, mode: MtlsMode.STRICT });
  new MtlsPolicy(chart, 'db-port', { mesh, service: api, port: 5432, mode: MtlsMode.PERMISSIVE });
  const objs = synth(chart);
  expect(find(objs, 'MtlsPolicy', 'ns').spec).toEqual({ scope: { namespace: 'shop' }, mode: 'STRICT' });
  expect(find(objs, 'MtlsPolicy', 'svc').spec).toEqual({ scope: { namespace: 'shop', service: 'api' }, mode: 'STRICT' });
  const port = find(objs, 'MtlsPolicy', 'db-port');
  expect(port.metadata.namespace).toBe('shop');
  expect(port.spec.scope).toEqual({ namespace: 'shop', service: 'api', port: 5432 });
});

test('allow/deny/audit rules by identity and operation, added after construction (snapshot)', () => {
  const { chart, mesh, web, api } = setup();
  const p = new MtlsPolicy(chart, 'api-authz', { mesh, service: api });
  p.allow({ name: 'web-reads', from: { services: [web] }, to: { methods: ['GET'], paths: ['/items/*'], ports: [9080] } })
    .deny({ from: [{ namespaces: ['shop'], serviceAccounts: ['shop/web'] }], to: { methods: ['DELETE'] } })
    .audit({ from: { principals: ['spiffe://shop.local/ns/shop/sa/web'] } });
  const cr = find(synth(chart), 'MtlsPolicy', 'api-authz');
  expect(resourceProblems(cr)).toEqual([]);
  expect(cr.spec.rules.map((r: any) => [r.name, r.action])).toEqual([['web-reads', 'ALLOW'], ['deny-1', 'DENY'], ['audit-2', 'AUDIT']]);
  expect(cr.spec.rules[0].from).toEqual([{ services: [{ name: 'web', namespace: 'shop' }] }]);
  expect(cr).toMatchSnapshot();
});

test('L7 conditions on a tcp port are a protocol mismatch', () => {
  const { chart, mesh, api } = setup();
  new MtlsPolicy(chart, 'p', { mesh, service: api, port: 5432 }).allow({ to: { methods: ['GET'] } });
  expectCode(() => synth(chart), 'WEFT_ERR_PROTOCOL_MISMATCH');
});

test('a rule naming an unmeshed service names an identity that cannot exist', () => {
  const { chart, mesh, api } = setup();
  const legacy = new MeshService(chart, 'legacy', { mesh, image: 'l:1', port: 8081, protocol: Protocol.HTTP, meshed: false });
  new MtlsPolicy(chart, 'p', { mesh, service: api }).allow({ from: { services: [legacy] } });
  expectCode(() => synth(chart), 'WEFT_ERR_UNKNOWN_IDENTITY');
});

test('PERMISSIVE on the callee port lets an unmeshed caller through STRICT', () => {
  const { chart, mesh, api } = setup();
  new MeshService(chart, 'legacy', { mesh, image: 'l:1', port: 8081, protocol: Protocol.HTTP, meshed: false }).calls(api);
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
  new MtlsPolicy(chart, 'api-open', { mesh, service: api, mode: MtlsMode.PERMISSIVE });
  expect(() => synth(chart)).not.toThrow();
});

test('argument checks on rules; a policy that does nothing fails synth', () => {
  const { chart, mesh, api } = setup();
  const p = new MtlsPolicy(chart, 'p', { mesh, service: api });
  expectCode(() => p.allow({ from: { principals: ['web'] } }), 'WEFT_ERR_INVALID_PROP');
  expectCode(() => p.allow({ to: { methods: ['get'] } }), 'WEFT_ERR_INVALID_PROP');
  expectCode(() => p.allow({ to: { paths: ['items'] } }), 'WEFT_ERR_INVALID_PROP');
  expectCode(() => p.allow({ to: { ports: [15020] } }), 'WEFT_ERR_RESERVED_PORT');
  expectCode(() => synth(chart), 'WEFT_ERR_MISSING_PROP');
});

test('service and namespace scopes must agree', () => {
  const { chart, mesh, api } = setup();
  expectCode(() => new MtlsPolicy(chart, 'p', { mesh, service: api, namespace: 'other', mode: MtlsMode.STRICT }), 'WEFT_ERR_INVALID_SCOPE');
});
