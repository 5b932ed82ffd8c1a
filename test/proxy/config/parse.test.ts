import { InvalidConfigError } from '../../../api/errors';
import { ConfigCell, applyXds, nackMessage, parseStaticResources, parseXds, parseXdsResources } from '../../../proxy/config';
import type { ForwardAction } from '../../../proxy/config';
import { TYPES, cla, cluster, dur, listener, routeConfig } from '../../support/proxy-fixtures';

const fullRoute = {
  name: 'canary',
  match: { prefix: '/api', case_sensitive: { value: false }, headers: [{ name: 'x-user', string_match: { safe_regex: { regex: 'a.*' } }, invert_match: true }], query_parameters: [{ name: 'debug', present_match: true }] },
  route: {
    weighted_clusters: { clusters: [{ name: 'reviews|v1', weight: { value: 90 } }, { name: 'reviews|v2', weight: { value: 10 } }] },
    timeout: dur(1500),
    retry_policy: { retry_on: '5xx,connect-failure,bogus', num_retries: { value: 9 }, per_try_timeout: dur(200), retry_back_off: { base_interval: dur(10), max_interval: dur(100) } },
    hash_policy: [{ header: { header_name: 'X-Canary' } }, { cookie: { name: 'sticky' }, terminal: true }],
    request_mirror_policies: [{ cluster: 'reviews|v3', runtime_fraction: { default_value: { numerator: 50, denominator: 'HUNDRED' } } }],
  },
  request_headers_to_add: [{ header: { key: 'X-Added', value: 'yes' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
  response_headers_to_remove: ['server'],
  typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': TYPES.FAULT, abort: { http_status: 503, percentage: { numerator: 250000, denominator: 'MILLION' } } } },
  metadata: { filter_metadata: { weft: { route: 'default', source: 'reviews-canary' } } },
};

function valid() {
  return {
    listeners: [listener('outbound', 'outbound')],
    routes: [routeConfig('outbound', ['reviews', 'reviews.default:9080'], [fullRoute])],
    clusters: [cluster('reviews|v1', { lb_policy: 'ROUND_ROBIN', outlier_detection: { consecutive_5xx: { value: 3 }, interval: dur(1000) } }), cluster('reviews|v2'), cluster('reviews|v3')],
    endpoints: [cla('reviews|v1', ['10.0.0.1:9080', '10.0.0.2:9080']), cla('reviews|v2', ['10.0.0.3:9080']), cla('reviews|v3', [])],
  };
}

test('GIVEN valid xDS resources WHEN parsed THEN typed, frozen values come out', () => {
  const c = parseXds(valid(), 'v1');
  expect(c.version).toBe('v1');
  const vh = c.routes.get('outbound')!.virtualHosts[0];
  expect(vh.domains.map((d) => d.kind)).toEqual(['exact', 'exact']);
  const r = vh.routes[0];
  expect(r.name).toBe('reviews-canary/default');
  expect(r.match.path).toEqual({ kind: 'prefix', value: '/api', caseSensitive: false });
  expect(r.match.headers[0].invert).toBe(true);
  const a = r.action as ForwardAction;
  expect(a.clusters).toEqual([{ name: 'reviews|v1', weight: 90 }, { name: 'reviews|v2', weight: 10 }]);
  expect(a.timeoutMs).toBe(1500);
  expect(a.retry!.numRetries).toBe(4); // A44 cap
  expect([...a.retry!.on]).toEqual(['5xx', 'connect-failure']); // unknown condition ignored
  expect(a.retry!.perTryTimeoutMs).toBe(200);
  expect(a.hashPolicy).toEqual([{ kind: 'header', name: 'x-canary', terminal: false }, { kind: 'cookie', name: 'sticky', terminal: true }]);
  expect(a.mirrors).toEqual([{ cluster: 'reviews|v3', percent: 50 }]);
  expect(r.requestHeaders.set).toEqual([['x-added', 'yes']]);
  expect(r.fault!.abort).toEqual({ httpStatus: 503, grpcStatus: undefined, percent: 25 });
  const v1 = c.clusters.get('reviews|v1')!;
  expect(v1.lbPolicy).toBe('round-robin');
  expect(v1.outlierDetection).toMatchObject({ consecutive5xx: 3, intervalMs: 1000, baseEjectionTimeMs: 30000, maxEjectionPercent: 10 });
  expect(c.clusters.get('reviews|v2')!.lbPolicy).toBe('peak-ewma'); // the default
  expect(c.endpoints.get('reviews|v1')!.endpoints.map((e) => e.port)).toEqual([9080, 9080]);
  expect(Object.isFrozen(r)).toBe(true);
  expect(() => (c.clusters as Map<string, unknown>).set('x', {})).toThrow(TypeError);
});

test('GIVEN several invalid resources WHEN parsed whole THEN one InvalidConfigError lists every problem', () => {
  const input = valid();
  input.routes = [routeConfig('outbound', ['reviews'], [{ match: { prefix: '' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } } }, { match: { safe_regex: { regex: '(?=x)' } }, route: { cluster: 'a' } }])];
  input.endpoints = [cla('reviews|v1', ['localhost:9080'])];
  input.listeners = [{ ...listener('outbound', 'outbound') }];
  (input.listeners[0] as any).filter_chains[0].filters[0].typed_config.http_filters.reverse().push({ name: 'x', typed_config: { '@type': TYPES.FAULT } });
  let err: unknown;
  try {
    parseXds(input);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidConfigError);
  expect((err as InvalidConfigError).code).toBe('WEFT_ERR_INVALID_CONFIG');
  const text = (err as InvalidConfigError).problems.join('\n');
  expect(text).toMatch(/sum of weights is 0/);
  expect(text).toMatch(/RE2 does not support/);
  expect(text).toMatch(/not a valid IPv4 or IPv6 address/);
  expect(text).toMatch(/router/);
});

test('GIVEN a push with one bad resource WHEN parsed per resource THEN valid ones apply and the bad one keeps its last good version (A46)', () => {
  const first = parseXds(valid(), 'v1');
  const push = valid();
  push.clusters = [cluster('reviews|v1', { lb_policy: 'LEAST_REQUEST' }), cluster('reviews|v2', { lb_policy: 'MAGLEVV' }), cluster('reviews|v3')];
  const { config, errors } = parseXdsResources({ clusters: push.clusters }, first, 'v2');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ type: 'cluster', name: 'reviews|v2' });
  expect(errors[0].problems[0]).toMatch(/^cluster reviews\|v2: lb_policy/);
  expect(config.clusters.get('reviews|v1')!.lbPolicy).toBe('least-request');
  expect(config.clusters.get('reviews|v2')).toBe(first.clusters.get('reviews|v2'));
  expect(config.routes).toBe(config.routes); // other types untouched
  expect(config.routes.get('outbound')).toBe(first.routes.get('outbound'));
});

test('GIVEN a cluster that disappears from CDS WHEN parsed THEN it is deleted (state of the world)', () => {
  const first = parseXds(valid());
  const { config } = parseXdsResources({ clusters: [cluster('reviews|v1')] }, first);
  expect([...config.clusters.keys()]).toEqual(['reviews|v1']);
});

test('GIVEN bootstrap static resources in canonical JSON (camelCase, "1.5s", bare wrappers) THEN the same parser reads them', () => {
  const c = parseStaticResources({
    listeners: [{ name: 'outbound', trafficDirection: 'OUTBOUND', filterChains: [{ filters: [{ typedConfig: { '@type': TYPES.HCM, rds: { routeConfigName: 'r' }, httpFilters: [{ typedConfig: { '@type': TYPES.ROUTER } }] } }] }] }],
    routes: [{ name: 'r', virtualHosts: [{ name: 'vh', domains: ['*.svc', 'api.*', '*'], routes: [{ match: { path: '/x' }, route: { cluster: 'c', timeout: '1.5s', retryPolicy: { retryOn: 'reset', numRetries: 2 } } }] }] }],
    clusters: [{ name: 'c', type: 'STATIC', lbPolicy: 'RING_HASH', loadAssignment: { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '::1', portValue: 8080 } } } }] }] } }],
  });
  const a = c.routes.get('r')!.virtualHosts[0].routes[0].action as ForwardAction;
  expect(a.timeoutMs).toBe(1500);
  expect(a.retry!.numRetries).toBe(2);
  expect(c.routes.get('r')!.virtualHosts[0].domains.map((d) => d.kind)).toEqual(['suffix', 'prefix', 'any']);
  expect(c.clusters.get('c')!.lbPolicy).toBe('ring-hash');
  expect(c.clusters.get('c')!.staticEndpoints![0]).toMatchObject({ address: '::1', port: 8080 });
  expect(c.listeners.get('outbound')!.direction).toBe('outbound');
});

test('GIVEN a listener with an inline route_config per filter chain THEN each chain names its table', () => {
  const inbound = {
    name: 'inbound',
    filter_chains: [8080, 9090].map((port) => ({
      name: `inbound|p${port}`,
      filter_chain_match: { destination_port: { value: port } },
      filters: [{ typed_config: { '@type': TYPES.HCM, route_config: { name: `inbound|p${port}`, virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: `inbound|p${port}` } }] }] }, http_filters: [{ typed_config: { '@type': TYPES.FAULT } }, { typed_config: { '@type': TYPES.ROUTER } }] } }],
    })),
    metadata: { filter_metadata: { weft: { direction: 'inbound', authz: { defaultPolicy: 'deny', rules: [] }, rateLimit: { requestsPerSecond: 5, burst: 2 } } } },
  };
  const c = parseXds({ listeners: [inbound] });
  const l = c.listeners.get('inbound')!;
  expect(l.direction).toBe('inbound');
  expect(l.chains.map((ch) => [ch.destinationPort, ch.routeTable])).toEqual([[8080, 'inbound|p8080'], [9090, 'inbound|p9090']]);
  expect(c.routes.has('inbound|p9090')).toBe(true);
  expect(l.authz).toEqual({ defaultPolicy: 'deny', rules: [] });
  expect(l.rateLimit).toEqual({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 200 });
  // An RDS-only update keeps inline tables.
  const { config } = parseXdsResources({ routes: [] }, c);
  expect(config.routes.has('inbound|p8080')).toBe(true);
});

test('GIVEN domain patterns with a wildcard in the middle or two wildcards THEN they are rejected', () => {
  expect(() => parseXds({ routes: [routeConfig('r', ['a.*.b'], [])] })).toThrow(/one wildcard/);
  expect(() => parseXds({ routes: [routeConfig('r', ['*.a.*'], [])] })).toThrow(/one wildcard/);
});

test('GIVEN header mutations of pseudo-headers or with CR/LF THEN they are rejected', () => {
  const r = (h: Record<string, unknown>) => routeConfig('r', ['*'], [{ match: { prefix: '' }, route: { cluster: 'c' }, request_headers_to_add: [h] }]);
  expect(() => parseXds({ routes: [r({ header: { key: ':path', value: '/x' } })] })).toThrow(/pseudo-header/);
  expect(() => parseXds({ routes: [r({ header: { key: 'x', value: 'a\r\nb: c' } })] })).toThrow(/CR, LF/);
});

test('GIVEN applyXds with one bad route table THEN the cell gets the valid rest and the NACK text names the resource', () => {
  const cell = new ConfigCell(parseXds(valid(), 'v1'));
  const errors = applyXds(cell, { routes: [routeConfig('outbound', ['reviews'], [{ match: {}, route: { cluster: 'x' } }]), routeConfig('other', ['*'], [{ match: { prefix: '' }, route: { cluster: 'x' } }])] }, 'v2');
  expect(errors.map((e) => e.name)).toEqual(['outbound']);
  expect(nackMessage(errors)).toMatch(/^route outbound: virtual_hosts\[0\]\.routes\[0\]\.match: needs a path specifier/);
  expect(cell.get().version).toBe('v2');
  expect(cell.get().routes.has('other')).toBe(true);
  expect(cell.get().routes.get('outbound')!.virtualHosts[0].routes[0].name).toBe('reviews-canary/default');
});
