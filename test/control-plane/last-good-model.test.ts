/**
 * LastGoodModel on its own: substitution order across kinds, the deny-all placeholder's reach,
 * deletion, and what a fresh instance (a restarted control plane) does without history.
 */
import { authorize, authorizeTcp } from '../../api/authz';
import type { MeshModel } from '../../api/model';
import type { WeftResource } from '../../api/resources';
import { denyAllPlaceholder, LastGoodModel, REJECTED_POLICY_RULE } from '../../control-plane/last-good';

const res = (kind: string, name: string, spec: unknown, namespace: string | undefined = 'shop') =>
  ({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec }) as WeftResource<unknown>;
const MESH = res('MeshConfig', 'mesh', {
  trustDomain: 'shop.local', defaultMtlsMode: 'STRICT', defaultInboundPolicy: 'allow', proxyImage: 'p', controlPlaneImage: 'c',
  controlPlane: { namespace: 'weft-system', service: 'weft-control-plane', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
}, undefined);
const svc = (name: string, versions = ['v1', 'v2'], namespace = 'shop', port = 9080) => res('MeshService', name, {
  serviceAccount: name, interception: 'explicit', ports: [{ name: 'http', port, protocol: 'http' }], versions: versions.map((v) => ({ name: v, replicas: 1 })),
}, namespace);
const route = (name: string, service: string, backends: Record<string, number>) => res('CanaryRoute', name, {
  service: { name: service }, routes: [{ backends: Object.entries(backends).map(([version, weight]) => ({ version, weight })) }],
});
const policy = (name: string, spec: unknown, namespace = 'shop') => res('MtlsPolicy', name, spec, namespace);
const allowed = (m: MeshModel, service: string, namespace = 'shop') =>
  authorize(m.policies, { principal: 'spiffe://shop.local/ns/shop/sa/x', destination: { service, namespace }, port: 9080, path: '/', method: 'GET' }).allowed;

test('a rejected MeshService edit keeps the old service, so routes that rely on it stay accepted', () => {
  const lg = new LastGoodModel();
  const good = [MESH, svc('reviews'), route('canary', 'reviews', { v1: 80, v2: 20 })];
  expect(lg.build(good, []).statuses.every((s) => s.accepted)).toBe(true);
  // the edit drops v2 and declares a reserved port: the service is rejected; without last-good the route would be UnknownService
  const { model, statuses } = lg.build([MESH, svc('reviews', ['v1'], 'shop', 15001), route('canary', 'reviews', { v1: 80, v2: 20 })], []);
  expect(statuses.find((s) => s.kind === 'MeshService')).toMatchObject({ accepted: false, code: 'WEFT_ERR_MODEL_RESERVED_PORT', inForce: 'last-accepted' });
  expect(statuses.find((s) => s.kind === 'CanaryRoute')).toMatchObject({ accepted: true });
  expect(model.services[0].versions.map((v) => v.name)).toEqual(['v1', 'v2']);
  expect(model.services[0].routes[0].backends).toEqual([{ version: 'v1', weight: 80 }, { version: 'v2', weight: 20 }]);
});

test('a route that becomes invalid only against the kept service falls back to its own last accepted version', () => {
  const lg = new LastGoodModel();
  lg.build([MESH, svc('reviews'), route('canary', 'reviews', { v1: 80, v2: 20 })], []);
  // new service adds v3 but is rejected (duplicate port); the new route uses v3: rejected against the kept service
  const badSvc = res('MeshService', 'reviews', { serviceAccount: 'reviews', interception: 'explicit', ports: [{ name: 'http', port: 9080, protocol: 'http' }, { name: 'h2', port: 9080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v3', replicas: 1 }] });
  const { model, statuses } = lg.build([MESH, badSvc, route('canary', 'reviews', { v1: 50, v3: 50 })], []);
  expect(statuses.find((s) => s.kind === 'CanaryRoute')).toMatchObject({ accepted: false, code: 'WEFT_ERR_MODEL_UNKNOWN_VERSION', inForce: 'last-accepted' });
  expect(model.services[0].routes[0].backends).toEqual([{ version: 'v1', weight: 80 }, { version: 'v2', weight: 20 }]);
});

test('a fresh instance (restarted control plane) has no history: the rejected policy denies, the rejected route is left out', () => {
  const input = [MESH, svc('reviews'), route('canary', 'reviews', { v1: 60, v2: 50 }), policy('p', { scope: { service: 'reviews' }, rules: [{ action: 'DENYX' }] })];
  const { model, statuses } = new LastGoodModel().build(input, []);
  expect(statuses.filter((s) => !s.accepted).map((s) => [s.kind, s.inForce])).toEqual([['CanaryRoute', 'none'], ['MtlsPolicy', 'deny-all']]);
  expect(model.services[0].routes.map((r) => r.name)).toEqual(['default']);
  expect(allowed(model, 'reviews')).toBe(false);
  // plaintext callers (no identity) too, and opaque TCP: the placeholder matches everyone
  expect(authorize(model.policies, { destination: { service: 'reviews', namespace: 'shop' }, port: 9080, path: '/', method: 'GET' }).allowed).toBe(false);
  expect(authorizeTcp(model.policies, { destination: { service: 'reviews', namespace: 'shop' }, port: 9080 }).allowed).toBe(false);
  expect(model.policies[0].rules.map((r) => r.id)).toEqual([`shop/p#${REJECTED_POLICY_RULE}`]);
});

test('a deleted resource is forgotten: re-created invalid, it counts as never accepted', () => {
  const lg = new LastGoodModel();
  lg.build([MESH, svc('reviews'), route('canary', 'reviews', { v1: 80, v2: 20 })], []);
  lg.build([MESH, svc('reviews')], []);
  const { model, statuses } = lg.build([MESH, svc('reviews'), route('canary', 'reviews', { v1: 60, v2: 50 })], []);
  expect(statuses.find((s) => s.kind === 'CanaryRoute')).toMatchObject({ accepted: false, inForce: 'none' });
  expect(model.services[0].routes.map((r) => r.name)).toEqual(['default']);
});

test('placeholder reach: readable scope as written, unreadable scope → namespace, contradictory scope → namespace, unknown service → nothing', () => {
  expect(denyAllPlaceholder(policy('a', { scope: { service: 'reviews', port: 9080 }, rules: 'x' })).spec).toEqual({ scope: { service: 'reviews', port: 9080 }, rules: [{ name: REJECTED_POLICY_RULE, action: 'DENY' }] });
  expect(denyAllPlaceholder(policy('b', { scope: { namespace: 'other', service: 'BAD' } })).spec.scope).toEqual({ namespace: 'other' });
  expect(denyAllPlaceholder(policy('c', { scope: 'everything' })).spec.scope).toEqual({ namespace: 'shop' });
  expect(denyAllPlaceholder(policy('d', { mode: 'STRICTX' })).spec.scope).toBeUndefined();

  const services = [MESH, svc('reviews'), svc('details'), svc('web', ['v1'], 'other')];
  // port without service: the written scope is readable but contradictory, so the whole namespace is denied
  const port = new LastGoodModel().build([...services, policy('p', { scope: { port: 9080 }, rules: [{ action: 'ALLOW', bogus: 1 }] })], []);
  expect(port.statuses.find((s) => s.kind === 'MtlsPolicy')).toMatchObject({ inForce: 'deny-all' });
  expect([allowed(port.model, 'reviews'), allowed(port.model, 'details'), allowed(port.model, 'web', 'other')]).toEqual([false, false, true]);
  // a scope naming a service that does not exist selects nothing, as an accepted one would: nothing to deny
  const unknown = new LastGoodModel().build([...services, policy('q', { scope: { service: 'nope' }, rules: [{ action: 'ALLOW' }] })], []);
  expect(unknown.statuses.find((s) => s.kind === 'MtlsPolicy')).toMatchObject({ accepted: false, code: 'WEFT_ERR_MODEL_UNKNOWN_SERVICE', inForce: 'none' });
  expect(allowed(unknown.model, 'reviews')).toBe(true);
});

test('a policy without scope in the mesh root namespace is mesh-wide, and so is its placeholder', () => {
  const services = [MESH, svc('reviews'), svc('web', ['v1'], 'other')];
  const { model, statuses } = new LastGoodModel().build([...services, policy('root', { rules: [{ action: 'deny' }] }, 'weft-system')], []);
  expect(statuses.find((s) => s.kind === 'MtlsPolicy')).toMatchObject({ inForce: 'deny-all' });
  expect([allowed(model, 'reviews'), allowed(model, 'web', 'other')]).toEqual([false, false]);
});

test('a mode-only policy with a bad mode keeps its last accepted mode', () => {
  const lg = new LastGoodModel();
  lg.build([MESH, svc('reviews'), policy('m', { scope: { service: 'reviews' }, mode: 'DISABLE' })], []);
  const { model } = lg.build([MESH, svc('reviews'), policy('m', { scope: { service: 'reviews' }, mode: 'OFF' })], []);
  expect(model.services[0].mtlsModes).toEqual({ 9080: 'DISABLE' });
  expect(allowed(model, 'reviews')).toBe(true);
});

test('a remembered version (another replica, a previous run) stands in when there is none in memory', () => {
  const good = policy('p', { scope: { service: 'reviews' }, rules: [{ action: 'DENY', to: [{ paths: ['/admin'] }] }] });
  const bad = policy('p', { scope: { service: 'reviews' }, rules: [{ action: 'DENYX', to: [{ paths: ['/admin'] }] }] });
  const fresh = new LastGoodModel();
  const { model, statuses } = fresh.build([MESH, svc('reviews'), bad], [], [{ ...good, metadata: { ...good.metadata, generation: 4 } }]);
  expect(statuses.find((s) => s.kind === 'MtlsPolicy')).toMatchObject({ accepted: false, inForce: 'last-accepted', lastAccepted: { generation: 4, spec: good.spec } });
  expect(statuses.find((s) => s.kind === 'MtlsPolicy')!.message).toMatch(/the last accepted version \(generation 4\) stays in force$/);
  expect(allowed(model, 'reviews')).toBe(true); // only /admin is denied, as before
  expect(authorize(model.policies, { principal: 'spiffe://shop.local/ns/shop/sa/x', destination: { service: 'reviews', namespace: 'shop' }, port: 9080, path: '/admin', method: 'GET' }).allowed).toBe(false);
  // memory wins over what is remembered outside, and accepted resources carry what to persist
  const other = fresh.build([MESH, svc('reviews'), good], [], []);
  expect(other.statuses.find((s) => s.kind === 'MtlsPolicy')).toMatchObject({ accepted: true, lastAccepted: { spec: good.spec } });
});

test('a remembered policy that today\'s rules reject too is not served as nothing: it denies', () => {
  // e.g. stored before an upgrade added a rule; the live spec is invalid as well
  const staleRemembered = policy('p', { scope: { service: 'reviews' }, rules: [{ action: 'Deny', to: [{ paths: ['/admin'] }] }] });
  const bad = policy('p', { scope: { service: 'reviews' }, rules: [{ action: 'DENYX', to: [{ paths: ['/admin'] }] }] });
  const { model, statuses } = new LastGoodModel().build([MESH, svc('reviews'), bad], [], [{ ...staleRemembered, metadata: { ...staleRemembered.metadata, generation: 2 } }]);
  expect(statuses.find((s) => s.kind === 'MtlsPolicy')).toMatchObject({ accepted: false, inForce: 'deny-all' });
  expect(allowed(model, 'reviews')).toBe(false);
  expect(authorize(model.policies, { principal: 'spiffe://shop.local/ns/shop/sa/x', destination: { service: 'reviews', namespace: 'shop' }, port: 9080, path: '/admin', method: 'GET' }).allowed).toBe(false);
});
