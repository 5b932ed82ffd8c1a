/**
 * The weft xDS metadata contract (api/xds/metadata.ts): what translate() writes passes the schema
 * for every resource of every sidecar, and a bad value is NACKed by the proxy's real config parser
 * with WEFT_ERR_XDS_METADATA while the last good resource stays.
 */
import { Chart, Testing } from 'cdk8s';
import { buildModel } from '../../api/build-model';
import type { EndpointModel } from '../../api/model';
import { API_VERSION, type WeftResource } from '../../api/resources';
import { translate, type XdsResources } from '../../api/translate';
import { metadataProblems, type MetadataKind } from '../../api/xds/metadata';
import { bookinfo } from '../../examples/bookinfo/mesh';
import { parseXdsResources } from '../../proxy/config';

type Obj = Record<string, any>;
const weftOf = (o: Obj | undefined): unknown => o?.metadata?.filter_metadata?.weft;

/** Every (kind, metadata) pair in one translate() result. */
function metadataOf(x: XdsResources): [MetadataKind, unknown, string][] {
  const out: [MetadataKind, unknown, string][] = [];
  const add = (kind: MetadataKind, o: Obj, where: string) => { if (weftOf(o) !== undefined) out.push([kind, weftOf(o), where]); };
  for (const l of x.listeners as Obj[]) {
    add('listener', l, `listener ${l.name}`);
    for (const c of l.filter_chains ?? []) add('filterChain', c, `chain ${c.name}`);
  }
  for (const c of x.clusters as Obj[]) add('cluster', c, `cluster ${c.name}`);
  for (const cla of x.endpoints as Obj[]) for (const loc of cla.endpoints ?? []) for (const le of loc.lb_endpoints ?? []) add('endpoint', le, `endpoint of ${cla.cluster_name}`);
  for (const rc of x.routes as Obj[]) for (const vh of rc.virtual_hosts ?? []) for (const r of vh.routes ?? []) add('route', r, `route ${r.name}`);
  return out;
}

function bookinfoModel() {
  const chart = new Chart(Testing.app(), 'bookinfo', { namespace: 'bookinfo' });
  bookinfo(chart);
  const weft = (Testing.synth(chart) as Obj[]).filter((o) => o.apiVersion === API_VERSION) as WeftResource<unknown>[];
  const endpoints: EndpointModel[] = ['productpage', 'details', 'reviews', 'ratings'].flatMap((s, i) => ['v1', 'v2'].map((v, j) => ({
    service: s, namespace: 'bookinfo', version: v, address: `10.1.${i}.${j + 1}`, ports: { http: 9080 }, ready: true, instance: `${s}-${v}`, meshed: true,
  })));
  return buildModel(weft, endpoints).model;
}

test('GIVEN bookinfo WHEN translated for every sidecar and proxyless THEN every weft metadata passes its schema', () => {
  const model = bookinfoModel();
  let checked = 0;
  const kinds = new Set<string>();
  for (const svc of model.services) {
    for (const v of svc.versions) {
      for (const [kind, meta, where] of metadataOf(translate(model, { kind: 'sidecar', node: { service: svc.name, namespace: svc.namespace, version: v.name } }))) {
        expect({ where, problems: metadataProblems(kind, meta) }).toEqual({ where, problems: [] });
        kinds.add(kind);
        checked++;
      }
    }
  }
  for (const [kind, meta, where] of metadataOf(translate(model, { kind: 'proxyless' }))) expect({ where, problems: metadataProblems(kind, meta) }).toEqual({ where, problems: [] });
  expect([...kinds].sort()).toEqual(['cluster', 'endpoint', 'filterChain', 'listener', 'route']);
  expect(checked).toBeGreaterThan(50);
});

test('GIVEN translate output THEN the real proxy parser accepts it and the inbound authz is typed rules', () => {
  const model = bookinfoModel();
  const x = translate(model, { kind: 'sidecar', node: { service: 'reviews', namespace: 'bookinfo', version: 'v1' } });
  const { config, errors } = parseXdsResources({ listeners: x.listeners, routes: x.routes, clusters: x.clusters, endpoints: x.endpoints });
  expect(errors).toEqual([]);
  const authz = config.listeners.get('inbound')?.authz;
  expect(authz?.defaultPolicy).toBe('allow');
  expect(authz?.rules.map((r) => r.action)).toEqual(['ALLOW']);
  expect(authz?.rules[0].from[0].principals).toEqual(['spiffe://bookinfo.local/ns/bookinfo/sa/productpage']);
});

const inbound = (authz: unknown) => ({
  name: 'inbound',
  address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
  filter_chains: [{ name: 'inbound|http', filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'x', cluster: 'inbound|http' } }] }],
  metadata: { filter_metadata: { weft: { direction: 'inbound', authz } } },
});
const goodAuthz = { defaultPolicy: 'deny', rules: [{ id: 'shop/p#0', action: 'ALLOW', from: [{ principals: ['spiffe://t/ns/shop/sa/web'], namespaces: [] }], to: [] }] };

test.each<[string, unknown, string]>([
  ['an unknown rule action', { ...goodAuthz, rules: [{ ...goodAuthz.rules[0], action: 'PERMIT' }] }, 'authz.rules[0].action: "PERMIT" is not one of ALLOW, DENY, AUDIT'],
  ['a default policy that is not allow|deny', { ...goodAuthz, defaultPolicy: 'open' }, 'authz.defaultPolicy'],
  ['rules that are not a list', { defaultPolicy: 'deny', rules: { a: 1 } }, 'authz.rules: expected an array'],
  ['a port that is not a port', { ...goodAuthz, rules: [{ ...goodAuthz.rules[0], to: [{ paths: [], methods: [], ports: [70000] }] }] }, 'ports[0]: 70000 is above the maximum 65535'],
  ['a misspelt field', { ...goodAuthz, rulez: [] }, 'unknown field "rulez"'],
])('GIVEN a listener whose weft authz has %s WHEN parsed by the proxy THEN it is NACKed with WEFT_ERR_XDS_METADATA and the last good listener stays', (_n, bad, text) => {
  const good = parseXdsResources({ listeners: [inbound(goodAuthz)] });
  expect(good.errors).toEqual([]);
  const next = parseXdsResources({ listeners: [inbound(bad)] }, good.config);
  expect(next.errors).toHaveLength(1);
  const problem = next.errors[0].problems.find((p) => p.includes('WEFT_ERR_XDS_METADATA'));
  expect(problem).toContain(text);
  expect(problem).toContain('metadata.filter_metadata.weft.');
  // rejected → the previous (deny-by-default) authorization stays in force
  expect(next.config.listeners.get('inbound')?.authz).toEqual(goodAuthz);
});

test.each<[string, Obj, string]>([
  ['cluster', { name: 'c', type: 'EDS', metadata: { filter_metadata: { weft: { lbPolicy: 'fastest' } } } }, 'lbPolicy'],
  ['cluster', { name: 'c', type: 'EDS', metadata: { filter_metadata: { weft: { mtls_mode: 'SOMETIMES' } } } }, 'mtlsMode'],
  ['route', { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, metadata: { filter_metadata: { weft: { route: 'r', redirectStatus: 200 } } } }] }] }, 'redirectStatus: 200 is below the minimum 300'],
  ['endpoint', { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, metadata: { filter_metadata: { weft: { meshed: 'yes' } } } }] }] }, 'meshed: expected a boolean'],
])('GIVEN a %s with a bad weft metadata value THEN the proxy NACKs it with WEFT_ERR_XDS_METADATA', (kind, resource, text) => {
  const input = kind === 'cluster' ? { clusters: [resource] } : kind === 'route' ? { routes: [resource] } : { endpoints: [resource] };
  const { errors } = parseXdsResources(input);
  expect(errors).toHaveLength(1);
  expect(errors[0].problems.some((p) => p.includes('WEFT_ERR_XDS_METADATA') && p.includes(text))).toBe(true);
});

test('GIVEN weft metadata written snake_case (proto3 JSON) THEN the parser reads the same values it checked: no STRICT port falls back to the default', () => {
  const model = bookinfoModel();
  const x = translate(model, { kind: 'sidecar', node: { service: 'reviews', namespace: 'bookinfo', version: 'v1' } });
  const snake = (v: unknown): unknown => Array.isArray(v) ? v.map(snake)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, w]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snake(w)])) : v;
  const snaked = (x.listeners as Obj[]).map((l) => ({
    ...l,
    metadata: l.metadata && { filter_metadata: { weft: snake(weftOf(l)) } },
    filter_chains: (l.filter_chains as Obj[] | undefined)?.map((c) => (weftOf(c) ? { ...c, metadata: { filter_metadata: { weft: snake(weftOf(c)) } } } : c)),
  }));
  const camel = parseXdsResources({ listeners: x.listeners });
  const fromSnake = parseXdsResources({ listeners: snaked });
  expect(fromSnake.errors).toEqual([]);
  const chains = (r: typeof camel) => r.config.listeners.get('inbound')!.chains.map((c) => ({ mtlsMode: c.mtlsMode, servicePort: c.servicePort }));
  expect(chains(camel).some((c) => c.mtlsMode !== undefined && c.servicePort !== undefined)).toBe(true);
  expect(chains(fromSnake)).toEqual(chains(camel));
  expect(fromSnake.config.listeners.get('inbound')!.authz).toEqual(camel.config.listeners.get('inbound')!.authz);
});
