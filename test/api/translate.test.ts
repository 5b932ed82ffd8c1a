/**
 * translate(): both renderers, what grpc-js requires of the proxyless form, the sidecar's weft
 * metadata, coded errors, and a fast-check property: random add/remove sequences of services,
 * routes and endpoints never leave a dangling reference.
 */
import fc from 'fast-check';
import { buildModel } from '../../api/build-model';
import type { EndpointModel, MeshModel } from '../../api/model';
import type { WeftResource } from '../../api/resources';
import { translate, XdsResources } from '../../api/translate';
import { encodeResource, XdsObject } from '../../api/xds/codec';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, TYPES } from '../../api/xds/protos';

const A = 'weft.dev/v1alpha1';
type R = WeftResource<unknown>;
const svc = (name: string, spec: Record<string, unknown> = {}): R => ({
  apiVersion: A, kind: 'MeshService', metadata: { name, namespace: 'default' },
  spec: { serviceAccount: name, interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }], ...spec },
} as R);
const route = (name: string, service: string, routes: unknown[]): R => ({ apiVersion: A, kind: 'CanaryRoute', metadata: { name, namespace: 'default' }, spec: { service: { name: service }, routes } } as R);
const ep = (service: string, version: string, n: number, port = 'http'): EndpointModel => ({ service, namespace: 'default', version, address: `10.0.${n >> 8}.${n & 255}`, ports: { [port]: 8080 }, ready: n % 5 !== 0, instance: `${service}-${version}-${n}`, meshed: true });

/** Independent reference walk (not the control plane's): clusters, RDS names, EDS names. */
function refs(x: XdsResources): { clusters: Set<string>; rds: Set<string> } {
  const clusters = new Set<string>();
  const rds = new Set<string>();
  const walk = (v: unknown, parentKey = ''): void => {
    if (Array.isArray(v)) { v.forEach((e) => walk(e, parentKey)); return; }
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'cluster' && typeof x === 'string') clusters.add(x);
      if (k === 'route_config_name' && typeof x === 'string') rds.add(x);
      if (parentKey === 'weighted_clusters' && k === 'clusters') for (const c of x as { name: string }[]) clusters.add(c.name);
      walk(x, k);
    }
  };
  walk([x.listeners, x.routes]);
  return { clusters, rds };
}

function checkClosed(x: XdsResources): void {
  const { clusters, rds } = refs(x);
  const clusterNames = new Set(x.clusters.map((c) => c.name as string));
  const claNames = new Set(x.endpoints.map((c) => c.cluster_name as string));
  const routeNames = new Set(x.routes.map((r) => r.name as string));
  for (const c of clusters) expect(clusterNames).toContain(c);
  for (const r of rds) expect(routeNames).toContain(r);
  for (const c of x.clusters) if (c.type === 'EDS') expect(claNames).toContain((c.eds_cluster_config as XdsObject).service_name);
  for (const [t, list] of [[LISTENER, x.listeners], [ROUTE, x.routes], [CLUSTER, x.clusters], [ENDPOINT, x.endpoints]] as const) for (const r of list) encodeResource(t, r);
}

const base = (): MeshModel => buildModel([
  svc('echo', { ports: [{ name: 'grpc', port: 50051, protocol: 'grpc' }], trafficPolicy: { loadBalancer: { policy: 'consistent-hash', hash: { header: 'x-user' } }, timeout: '2s' } }),
  svc('web', { ports: [{ name: 'http', port: 8080, protocol: 'http' }, { name: 'db', port: 5432, protocol: 'tcp' }], calls: [{ name: 'echo' }], trafficPolicy: { rateLimit: { requestsPerSecond: 10 } } }),
  svc('lonely'),
  route('echo-r', 'echo', [
    { match: [{ path: { prefix: '/old' } }], redirect: { path: '/new', status: 301 } },
    { match: [{ headers: [{ name: 'x-canary', exact: '1' }] }], backends: [{ version: 'v2', weight: 100 }], fault: { delay: { fixed: '5ms', percent: 0.5 } }, mirror: { version: 'v1', percent: 10 } },
    { backends: [{ version: 'v1', weight: 80 }, { version: 'v2', weight: 20 }] },
  ]),
  { apiVersion: A, kind: 'MtlsPolicy', metadata: { name: 'p', namespace: 'default' }, spec: { scope: { service: 'web' }, mode: 'STRICT', rules: [{ action: 'ALLOW', from: [{ services: [{ name: 'echo' }] }] }] } } as R,
], [ep('echo', 'v1', 1, 'grpc'), ep('echo', 'v2', 2, 'grpc'), ep('echo', 'v2', 2, 'grpc'), ep('web', 'v1', 3)]).model;

describe('proxyless renderer (what grpc-js-xds accepts)', () => {
  const x = translate(base(), { kind: 'proxyless' });

  test('one api_listener per HTTP port plus the port-less name; router is the last filter', () => {
    expect(x.listeners.map((l) => l.name)).toEqual(['echo.default:50051', 'echo.default', 'lonely.default:8080', 'lonely.default', 'web.default:8080', 'web.default']);
    for (const l of x.listeners) {
      const hcm = (l.api_listener as XdsObject).api_listener as XdsObject;
      expect(hcm['@type']).toBe(TYPES.HCM);
      const filters = hcm.http_filters as XdsObject[];
      expect((filters[filters.length - 1].typed_config as XdsObject)['@type']).toBe(TYPES.ROUTER);
    }
    checkClosed(x);
  });

  test('no redirects or direct responses (grpc-js NACKs them); timeouts as max_stream_duration; ring hash on a header', () => {
    const echo = x.routes.find((r) => r.name === 'echo.default:50051')!;
    const routes = (echo.virtual_hosts as XdsObject[])[0].routes as XdsObject[];
    expect(routes.map((r) => r.name)).toEqual(['echo-r.1', 'echo-r.2', 'default']);
    expect(routes.every((r) => r.route !== undefined)).toBe(true);
    expect((routes[1].route as XdsObject).max_stream_duration).toEqual({ max_stream_duration: { seconds: 2, nanos: 0 } });
    expect((routes[1].route as XdsObject).hash_policy).toEqual([{ header: { header_name: 'x-user' } }]);
    expect(x.clusters.every((c) => ['ROUND_ROBIN', 'RING_HASH'].includes(c.lb_policy as string))).toBe(true);
  });

  test('every locality has a weight; endpoints are IP literals, deduplicated', () => {
    for (const cla of x.endpoints) {
      for (const loc of (cla.endpoints as XdsObject[]) ?? []) {
        expect(loc.locality).toEqual({});
        expect(loc.load_balancing_weight).toEqual({ value: 1 });
      }
    }
    const v2 = x.endpoints.find((e) => e.cluster_name === 'echo.default|v2')!;
    expect(((v2.endpoints as XdsObject[])[0].lb_endpoints as XdsObject[])).toHaveLength(1);
  });
});

describe('sidecar renderer', () => {
  test('outbound is scoped to declared calls; inbound carries authz, mTLS and rate limit in weft metadata', () => {
    const x = translate(base(), { kind: 'sidecar', node: { service: 'web', namespace: 'default', version: 'v1' } });
    checkClosed(x);
    const out = x.routes.find((r) => r.name === 'outbound')!;
    expect((out.virtual_hosts as XdsObject[]).map((v) => v.name)).toEqual(['echo.default:50051']);
    expect((out.virtual_hosts as XdsObject[])[0].domains).toEqual(expect.arrayContaining(['echo', 'echo:50051', 'echo.default.svc.cluster.local:50051']));
    const inbound = x.listeners.find((l) => l.name === 'inbound')!;
    const weft = ((inbound.metadata as XdsObject).filter_metadata as XdsObject).weft as XdsObject;
    expect(weft).toEqual(expect.objectContaining({ direction: 'inbound', service: 'web', identity: 'spiffe://cluster.local/ns/default/sa/web', rateLimit: { requestsPerSecond: 10, burst: 10 } }));
    expect((weft.authz as XdsObject).rules).toEqual([{ id: 'default/p#0', action: 'ALLOW', from: [{ principals: ['spiffe://cluster.local/ns/default/sa/echo'], namespaces: [] }], to: [] }]);
    const chains = inbound.filter_chains as XdsObject[];
    expect(chains.map((c) => c.name)).toEqual(['inbound|http', 'inbound|db']);
    expect((((chains[0].metadata as XdsObject).filter_metadata as XdsObject).weft as XdsObject).mtlsMode).toBe('STRICT');
    expect(x.clusters.map((c) => c.name)).toEqual(expect.arrayContaining(['echo.default|v1', 'echo.default|v2', 'inbound|http', 'inbound|db']));
  });

  test('with no declared calls every service is reachable; tcp ports get tcp_proxy listeners; peak-ewma is kept in metadata', () => {
    const x = translate(base(), { kind: 'sidecar', node: { service: 'lonely', namespace: 'default', version: 'v1' } });
    checkClosed(x);
    expect(x.listeners.map((l) => l.name)).toEqual(['outbound', 'outbound|web.default:5432', 'inbound']);
    const web = x.clusters.find((c) => c.name === 'web.default|v1:http')!;
    expect(web.lb_policy).toBe('LEAST_REQUEST');
    expect(((web.metadata as XdsObject).filter_metadata as XdsObject).weft).toEqual(expect.objectContaining({ lbPolicy: 'peak-ewma', identity: 'spiffe://cluster.local/ns/default/sa/web', mtlsMode: 'STRICT', port: 'http', version: 'v1' }));
    const echoRoutes = ((x.routes[0].virtual_hosts as XdsObject[]).find((v) => v.name === 'echo.default:50051')!.routes as XdsObject[]);
    expect(echoRoutes[0].redirect).toEqual({ path_redirect: '/new', response_code: 'MOVED_PERMANENTLY' });
    expect(echoRoutes[1].typed_per_filter_config).toEqual({ 'envoy.filters.http.fault': { '@type': TYPES.FAULT, delay: { fixed_delay: { seconds: 0, nanos: 5_000_000 }, percentage: { numerator: 5000, denominator: 'MILLION' } } } });
    expect((echoRoutes[1].route as XdsObject).request_mirror_policies).toEqual([{ cluster: 'echo.default|v1', runtime_fraction: { default_value: { numerator: 100000, denominator: 'MILLION' } } }]);
  });
});

describe('translate errors are coded', () => {
  const m = base();
  const echo = m.services[0];
  const withEcho = (patch: object): MeshModel => ({ ...m, services: [{ ...echo, ...patch }, ...m.services.slice(1)] });
  test.each([
    ['WEFT_ERR_TRANSLATE_UNKNOWN_VERSION', withEcho({ routes: [{ ...echo.routes[2], backends: [{ version: 'v9', weight: 100 }] }, echo.routes[3]] })],
    ['WEFT_ERR_TRANSLATE_INVALID_WEIGHTS', withEcho({ routes: [{ ...echo.routes[3], backends: [{ version: 'v1', weight: 0 }] }] })],
    ['WEFT_ERR_TRANSLATE_NO_DEFAULT_ROUTE', withEcho({ routes: echo.routes.slice(0, 2) })],
    ['WEFT_ERR_TRANSLATE_UNKNOWN_SERVICE', withEcho({ calls: [{ name: 'ghost', namespace: 'default' }] })],
    ['WEFT_ERR_TRANSLATE_DUPLICATE_SERVICE', { ...m, services: [...m.services, echo] }],
    ['WEFT_ERR_TRANSLATE_INVALID_ENDPOINT', { ...m, endpoints: [{ ...m.endpoints[0], address: 'localhost' }] }],
  ])('%s', (code, model) => {
    expect(() => translate(model as MeshModel, { kind: 'proxyless' })).toThrow(expect.objectContaining({ code }));
  });
});

describe('property: no dangling references under random add/remove sequences', () => {
  const names = ['a', 'b', 'c', 'd'];
  const versions = ['v1', 'v2', 'v3'];
  const op = fc.oneof(
    fc.record({ t: fc.constant('addService' as const), name: fc.constantFrom(...names), vs: fc.subarray(versions, { minLength: 1 }), tcp: fc.boolean(), calls: fc.subarray(names) }),
    fc.record({ t: fc.constant('removeService' as const), name: fc.constantFrom(...names) }),
    fc.record({ t: fc.constant('addRoute' as const), name: fc.constantFrom(...names), w: fc.array(fc.record({ version: fc.constantFrom(...versions), weight: fc.integer({ min: 0, max: 100 }) }), { minLength: 1, maxLength: 3 }) }),
    fc.record({ t: fc.constant('removeRoute' as const), name: fc.constantFrom(...names) }),
    fc.record({ t: fc.constant('addEndpoint' as const), name: fc.constantFrom(...names), version: fc.constantFrom(...versions), n: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ t: fc.constant('removeEndpoint' as const), n: fc.integer({ min: 1, max: 40 }) }),
  );

  test('every cluster a route names exists and every EDS cluster has a CLA, for both renderers', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), fc.constantFrom(...names), (ops, nodeSvc) => {
      const services = new Map<string, R>();
      const routes = new Map<string, R>();
      const eps = new Map<number, EndpointModel>();
      for (const o of ops) {
        if (o.t === 'addService') services.set(o.name, svc(o.name, { versions: o.vs.map((name) => ({ name, replicas: 1 })), calls: o.calls.map((name) => ({ name })), ports: [{ name: 'http', port: 8080, protocol: 'http' }, ...(o.tcp ? [{ name: 'db', port: 5432, protocol: 'tcp' }] : [])] }));
        if (o.t === 'removeService') services.delete(o.name);
        if (o.t === 'addRoute') routes.set(o.name, route(`r-${o.name}`, o.name, [{ match: [{ path: { prefix: '/x' } }], backends: o.w }, { backends: [{ version: o.w[0].version, weight: 100 }] }]));
        if (o.t === 'removeRoute') routes.delete(o.name);
        if (o.t === 'addEndpoint') eps.set(o.n, ep(o.name, o.version, o.n));
        if (o.t === 'removeEndpoint') eps.delete(o.n);
        const { model } = buildModel([...services.values(), ...routes.values()], [...eps.values()]);
        checkClosed(translate(model, { kind: 'proxyless' }));
        checkClosed(translate(model, { kind: 'sidecar', node: { service: nodeSvc, namespace: 'default', version: 'v1' } }));
      }
    }), { numRuns: 60 });
  });
});
