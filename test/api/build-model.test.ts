/** buildModel(): defaults, reference resolution, mTLS precedence, authorization, and every rejection reason. */
import { buildModel, DEFAULT_MESH } from '../../api/build-model';
import type { EndpointModel } from '../../api/model';
import type { WeftResource } from '../../api/resources';

const A = 'weft.dev/v1alpha1';
type R = WeftResource<unknown>;

const svc = (name: string, spec: Record<string, unknown> = {}, ns = 'default'): R => ({
  apiVersion: A, kind: 'MeshService', metadata: { name, namespace: ns },
  spec: { serviceAccount: name, interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 3 }, { name: 'v2', replicas: 1 }], ...spec },
} as R);
const route = (name: string, spec: Record<string, unknown>, ns = 'default'): R => ({ apiVersion: A, kind: 'CanaryRoute', metadata: { name, namespace: ns }, spec: { service: { name: 'echo' }, ...spec } } as R);
const policy = (name: string, spec: Record<string, unknown>, ns = 'default'): R => ({ apiVersion: A, kind: 'MtlsPolicy', metadata: { name, namespace: ns }, spec } as R);
const meshConfig = (name: string, spec: Record<string, unknown> = {}): R => ({
  apiVersion: A, kind: 'MeshConfig', metadata: { name },
  spec: { trustDomain: 'shop.local', defaultMtlsMode: 'STRICT', defaultInboundPolicy: 'deny', proxyImage: 'p', controlPlaneImage: 'c', controlPlane: { namespace: 'weft', service: 'cp', xdsPort: 15010, caPort: 15012 }, certificateTtl: '12h', ...spec },
} as R);
const ep = (version: string, address = '10.0.0.1', service = 'echo'): EndpointModel => ({ service, namespace: 'default', version, address, ports: { http: 15006 }, ready: true, instance: `${service}-${version}-${address}`, meshed: true });

const statusOf = (statuses: ReturnType<typeof buildModel>['statuses'], kind: string, name: string) => statuses.find((s) => s.kind === kind && s.name === name)!;

describe('buildModel defaults', () => {
  test('a bare service gets peak-ewma, the default mesh, a replica-weighted default route and its identity', () => {
    const { model, statuses } = buildModel([svc('echo')], [ep('v1'), ep('v2', '10.0.0.2')]);
    expect(statuses).toEqual([expect.objectContaining({ kind: 'MeshService', name: 'echo', accepted: true, resolvedRefs: true, reason: 'Accepted' })]);
    expect(model.mesh).toEqual(DEFAULT_MESH);
    const s = model.services[0];
    expect(s.trafficPolicy.loadBalancer.policy).toBe('peak-ewma');
    expect(s.identity).toBe('spiffe://cluster.local/ns/default/sa/echo');
    expect(s.routes).toEqual([expect.objectContaining({ name: 'default', matches: [], backends: [{ version: 'v1', weight: 75 }, { version: 'v2', weight: 25 }] })]);
    expect(s.mtlsModes).toEqual({ 8080: 'PERMISSIVE' });
    expect(model.endpoints).toHaveLength(2);
  });

  test('a single version takes all traffic; no replicas at all splits evenly and still sums to 100', () => {
    const one = buildModel([svc('echo', { versions: [{ name: 'v1', replicas: 0 }] })], []).model.services[0];
    expect(one.routes[0].backends).toEqual([{ version: 'v1', weight: 100 }]);
    const none = buildModel([svc('echo', { versions: [{ name: 'a', replicas: 0 }, { name: 'b', replicas: 0 }, { name: 'c', replicas: 0 }] })], []).model.services[0];
    expect(none.routes[0].backends.reduce((n, b) => n + b.weight, 0)).toBe(100);
  });

  test('durations become milliseconds; retries, outlier detection and rate limits get their defaults', () => {
    const { model } = buildModel([svc('echo', { trafficPolicy: { timeout: '1m30s', retries: { attempts: 2, on: ['5xx'] }, outlierDetection: {}, rateLimit: { requestsPerSecond: 2.5 } } })], []);
    const tp = model.services[0].trafficPolicy;
    expect(tp.timeoutMs).toBe(90_000);
    expect(tp.retries).toEqual({ attempts: 2, on: ['5xx'], perTryTimeoutMs: undefined, retriableStatusCodes: [], backoffBaseMs: 25, backoffMaxMs: 250 });
    expect(tp.outlierDetection).toEqual(expect.objectContaining({ consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10 }));
    expect(tp.rateLimit).toEqual({ requestsPerSecond: 2.5, burst: 3 });
    // The default route inherits service timeout and retries.
    expect(model.services[0].routes[0].timeoutMs).toBe(90_000);
  });

  test('CanaryRoute rules come in order (by resource name), then the default route', () => {
    const { model, statuses } = buildModel([
      svc('echo'),
      route('b-second', { routes: [{ name: 'all', backends: [{ version: 'v2', weight: 100 }] }] }),
      route('a-first', { routes: [{ match: [{ headers: [{ name: 'x-canary', exact: '1' }] }], backends: [{ version: 'v2', weight: 100 }], timeout: '250ms' }, { backends: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }] }] }),
    ], []);
    expect(statuses.every((s) => s.accepted)).toBe(true);
    expect(model.services[0].routes.map((r) => r.name)).toEqual(['a-first.0', 'a-first.1', 'b-second.all', 'default']);
    expect(model.services[0].routes[0].timeoutMs).toBe(250);
    expect(model.services[0].routes[0].matches[0].headers[0]).toEqual({ name: 'x-canary', exact: '1', invert: false });
  });

  test('mTLS mode precedence is port > service > namespace > mesh', () => {
    const two = { ports: [{ name: 'http', port: 8080, protocol: 'http' }, { name: 'admin', port: 9090, targetPort: 9091, protocol: 'http' }] };
    const { model } = buildModel([
      meshConfig('mesh'),
      svc('echo', two), svc('other'), svc('far', {}, 'elsewhere'),
      policy('ns-wide', { mode: 'PERMISSIVE' }),
      policy('svc', { scope: { service: 'echo' }, mode: 'DISABLE' }),
      policy('port', { scope: { service: 'echo', port: 9091 }, mode: 'STRICT' }),
    ], []);
    const modes = Object.fromEntries(model.services.map((s) => [s.name, s.mtlsModes]));
    expect(modes.echo).toEqual({ 8080: 'DISABLE', 9090: 'STRICT' });
    expect(modes.other).toEqual({ 8080: 'PERMISSIVE' });
    expect(modes.far).toEqual({ 8080: 'STRICT' });
  });

  test('a policy in the root namespace without scope is mesh-wide: its rules reach every service and its mode sits below namespace policies', () => {
    const { model } = buildModel([
      meshConfig('mesh', { defaultMtlsMode: 'DISABLE' }),
      svc('echo'), svc('far', {}, 'elsewhere'), svc('near', {}, 'weft'),
      policy('mesh-strict', { mode: 'STRICT', rules: [{ name: 'no-delete', action: 'DENY', to: [{ methods: ['DELETE'] }] }] }, 'weft'),
      policy('ns-wide', { mode: 'PERMISSIVE' }, 'elsewhere'),
    ], []);
    const modes = Object.fromEntries(model.services.map((s) => [s.name, s.mtlsModes]));
    expect(modes).toEqual({ echo: { 8080: 'STRICT' }, far: { 8080: 'PERMISSIVE' }, near: { 8080: 'STRICT' } });
    for (const p of model.policies) expect(p.rules.map((r) => r.id)).toContain('weft/mesh-strict#no-delete');
  });

  test('authorization: policy rules resolve services and service accounts; declared calls allow when the mesh denies by default', () => {
    const { model, statuses } = buildModel([
      meshConfig('mesh'),
      svc('echo'), svc('web', { calls: [{ name: 'echo' }] }),
      policy('deny-ghost', { scope: { service: 'echo' }, rules: [{ name: 'no-ghost', action: 'DENY', from: [{ services: [{ name: 'ghost' }] }] }] }),
      policy('allow-sa', { scope: { service: 'echo', port: 8080 }, rules: [{ action: 'ALLOW', from: [{ serviceAccounts: ['ops/robot'] }], to: [{ methods: ['GET'] }] }] }),
    ], []);
    const rules = model.policies.find((p) => p.service === 'echo')!.rules;
    // Policies in (namespace/name) order, then the rules declared calls produce.
    expect(rules.map((r) => r.id)).toEqual(['default/allow-sa#0', 'default/deny-ghost#no-ghost', 'default/calls#default.web']);
    // An unresolvable DENY source fails closed: it matches everyone.
    expect(rules[1].from).toEqual([{ principals: [], namespaces: [] }]);
    expect(rules[0].from[0].principals).toEqual(['spiffe://shop.local/ns/ops/sa/robot']);
    expect(rules[0].to).toEqual([{ paths: [], methods: ['GET'], ports: [8080] }]);
    expect(rules[2].from[0].principals).toEqual(['spiffe://shop.local/ns/default/sa/web']);
    expect(statusOf(statuses, 'MtlsPolicy', 'deny-ghost')).toEqual(expect.objectContaining({ accepted: true, resolvedRefs: false }));
  });

  test('endpoints of unknown services or versions, and non-IP addresses, are left out', () => {
    const { model } = buildModel([svc('echo')], [ep('v1'), ep('v9'), ep('v1', 'localhost'), ep('v1', '10.0.0.3', 'ghost')]);
    expect(model.endpoints.map((e) => e.address)).toEqual(['10.0.0.1']);
  });
});

describe('buildModel rejections (one bad resource never takes the mesh down)', () => {
  const cases: [string, R[], string, string, string][] = [
    ['schema violation', [{ ...svc('echo'), spec: { serviceAccount: 'echo' } } as R], 'echo', 'InvalidSpec', 'WEFT_ERR_INVALID_CONFIG'],
    ['duplicate port names', [svc('echo', { ports: [{ name: 'a', port: 1, protocol: 'http' }, { name: 'a', port: 2, protocol: 'http' }] })], 'echo', 'InvalidSpec', 'WEFT_ERR_MODEL_DUPLICATE'],
    ['reserved port', [svc('echo', { ports: [{ name: 'a', port: 80, targetPort: 15006, protocol: 'http' }] })], 'echo', 'InvalidSpec', 'WEFT_ERR_MODEL_RESERVED_PORT'],
    ['hash without consistent-hash', [svc('echo', { trafficPolicy: { loadBalancer: { policy: 'round-robin', hash: { header: 'x' } } } })], 'echo', 'InvalidSpec', 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['retry backoff max below base', [svc('echo', { trafficPolicy: { retries: { attempts: 1, on: ['5xx'], backoff: { base: '2s', max: '1s' } } } })], 'echo', 'InvalidSpec', 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['route to an unknown service', [svc('echo'), route('r', { service: { name: 'ghost' }, routes: [{}] })], 'r', 'UnknownService', 'WEFT_ERR_MODEL_UNKNOWN_SERVICE'],
    ['route to an unknown version', [svc('echo'), route('r', { routes: [{ backends: [{ version: 'v9', weight: 100 }] }] })], 'r', 'UnknownVersion', 'WEFT_ERR_MODEL_UNKNOWN_VERSION'],
    ['route on an unknown port', [svc('echo'), route('r', { port: 'grpc', routes: [{}] })], 'r', 'UnknownPort', 'WEFT_ERR_MODEL_UNKNOWN_PORT'],
    ['route on a tcp port', [svc('echo', { ports: [{ name: 'db', port: 5432, protocol: 'tcp' }] }), route('r', { port: 'db', routes: [{}] })], 'r', 'InvalidSpec', 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['weights not summing to 100', [svc('echo'), route('r', { routes: [{ backends: [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 20 }] }] })], 'r', 'InvalidWeights', 'WEFT_ERR_MODEL_INVALID_WEIGHTS'],
    ['backends and redirect', [svc('echo'), route('r', { routes: [{ backends: [{ version: 'v1', weight: 100 }], redirect: { host: 'x' } }] })], 'r', 'InvalidSpec', 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['abort with two statuses', [svc('echo'), route('r', { routes: [{ fault: { abort: { httpStatus: 503, grpcStatus: 14, percent: 1 } } }] })], 'r', 'InvalidSpec', 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['invalid regex', [svc('echo'), route('r', { routes: [{ match: [{ path: { regex: '(' } }] }] })], 'r', 'InvalidSpec', 'WEFT_ERR_MODEL_INVALID_MATCH'],
    ['two path matchers', [svc('echo'), route('r', { routes: [{ match: [{ path: { exact: '/a', prefix: '/b' } }] }] })], 'r', 'InvalidSpec', 'WEFT_ERR_MODEL_INVALID_MATCH'],
    ['policy port without service', [svc('echo'), policy('p', { scope: { port: 8080 }, mode: 'STRICT' })], 'p', 'InvalidSpec', 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['policy for an unknown service', [svc('echo'), policy('p', { scope: { service: 'ghost' }, mode: 'STRICT' })], 'p', 'UnknownService', 'WEFT_ERR_MODEL_UNKNOWN_SERVICE'],
    ['second MeshConfig', [meshConfig('a'), meshConfig('b')], 'b', 'Conflict', 'WEFT_ERR_MODEL_DUPLICATE'],
  ];

  test.each(cases)('%s', (_what, resources, name, reason, code) => {
    const { model, statuses } = buildModel([...resources, svc('bystander')], []);
    const st = statuses.find((s) => s.name === name && !s.accepted)!;
    expect(st).toEqual(expect.objectContaining({ accepted: false, reason, code }));
    expect(st.message.length).toBeGreaterThan(0);
    // Everything else still builds.
    expect(model.services.map((s) => s.name)).toContain('bystander');
    expect(statuses.find((s) => s.name === 'bystander')!.accepted).toBe(true);
  });

  test('a rejected CanaryRoute leaves its service on the default route', () => {
    const { model } = buildModel([svc('echo'), route('r', { routes: [{ backends: [{ version: 'v9', weight: 100 }] }] })], []);
    expect(model.services[0].routes.map((r) => r.name)).toEqual(['default']);
  });

  test('an unknown call is accepted but reported as an unresolved reference', () => {
    const { model, statuses } = buildModel([svc('web', { calls: [{ name: 'ghost' }] })], []);
    expect(model.services[0].calls).toEqual([]);
    expect(statusOf(statuses, 'MeshService', 'web')).toEqual(expect.objectContaining({ accepted: true, resolvedRefs: false, reason: 'UnresolvedRefs', code: 'WEFT_ERR_MODEL_UNKNOWN_SERVICE' }));
  });
});
