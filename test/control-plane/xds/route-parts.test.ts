/**
 * RouteConfigurations encoded by parts (route-parts.ts) and the content cache: byte-equal to the
 * strict codec for translated and hand-made route configurations, the same coded errors for invalid
 * ones, a CanaryRoute change re-encodes one virtual host; and versionOf() keeps its digest.
 */
import { buildModel } from '../../../api/build-model';
import type { EndpointModel } from '../../../api/model';
import type { WeftResource } from '../../../api/resources';
import { translate, ClientKind } from '../../../api/translate';
import { encodeResource, XdsCodecError, XdsObject } from '../../../api/xds/codec';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, TYPES } from '../../../api/xds/protos';
import { encodeRouteConfiguration, splitAfterField, VirtualHostCache } from '../../../control-plane/xds/route-parts';
import { buildSnapshot, EncodeCache, hashBytes, versionOf } from '../../../control-plane/xds/snapshot';

const A = 'weft.dev/v1alpha1';
type R = WeftResource<unknown>;
const svc = (name: string, spec: Record<string, unknown> = {}): R => ({
  apiVersion: A, kind: 'MeshService', metadata: { name, namespace: 'default' },
  spec: { serviceAccount: name, interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }], ...spec },
} as R);
const canary = (weight: number): R => ({
  apiVersion: A, kind: 'CanaryRoute', metadata: { name: 'canary', namespace: 'default' },
  spec: { service: { name: 'svc-0' }, routes: [
    { match: [{ headers: [{ name: 'x-canary', exact: '1' }] }], backends: [{ version: 'v2', weight: 100 }], fault: { delay: { fixed: '5ms', percent: 0.5 } }, mirror: { version: 'v1', percent: 10 } },
    { backends: [{ version: 'v1', weight: 100 - weight }, { version: 'v2', weight }] },
  ] },
} as R);
const ep = (service: string, version: string, n: number): EndpointModel => ({ service, namespace: 'default', version, address: `10.0.${n >> 8}.${n & 255}`, ports: { http: 8080 }, ready: true, instance: `${service}-${n}`, meshed: true });

/** 40 services (svc-0 with a canary at `weight`, svc-1 with a policy), a client, 80 endpoints. */
function model(weight: number) {
  const services = Array.from({ length: 40 }, (_, i) => svc(`svc-${i}`, i === 1 ? { trafficPolicy: { timeout: '2s', retries: { attempts: 3 } } } : {}));
  const eps = Array.from({ length: 80 }, (_, i) => ep(`svc-${i % 40}`, i % 2 ? 'v2' : 'v1', i));
  return buildModel([svc('client'), ...services, canary(weight)], eps).model;
}
const SIDECAR: ClientKind = { kind: 'sidecar', node: { service: 'client', namespace: 'default', version: 'v1' } };
const PROXYLESS: ClientKind = { kind: 'proxyless' };

/** The codec's error for `rc` as a resource (code and problem list), or undefined when it encodes. */
function codecError(f: () => unknown): { code: string; problems: readonly string[] } | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(XdsCodecError);
    return { code: (e as XdsCodecError).code, problems: (e as XdsCodecError).problems };
  }
}

const vhost = (name: string, extra: XdsObject = {}): XdsObject => ({
  name, domains: [name, `${name}.default`], routes: [{ match: { prefix: '/' }, route: { cluster: `${name}|v1` } }], ...extra,
});

describe('encodeRouteConfiguration (parts) is byte-equal to encodeResource', () => {
  test('translated route configurations, sidecar and proxyless, before and after a canary change', () => {
    const cache = new VirtualHostCache();
    let checked = 0;
    for (const weight of [10, 50, 10]) {
      for (const client of [SIDECAR, PROXYLESS]) {
        for (const rc of translate(model(weight), client).routes) {
          expect(encodeRouteConfiguration(rc, cache).equals(encodeResource(ROUTE, rc))).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(6);
  });

  test('hand-made shapes: fields on both sides of virtual_hosts, Any per-filter config, no name, empty or missing list', () => {
    const cache = new VirtualHostCache();
    const rich = vhost('rich', {
      require_tls: 'ALL',
      request_headers_to_add: [{ header: { key: 'x-a', value: '1' } }],
      typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': TYPES.FAULT, abort: { http_status: 503, percentage: { numerator: 10 } } } },
      routes: [
        { match: { path: '/x', headers: [{ name: ':method', string_match: { exact: 'GET' } }] }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 30 } }, { name: 'b', weight: { value: 70 } }] }, timeout: { seconds: 1, nanos: 500000000 } } },
        { match: { safe_regex: { regex: '^/y/.*' } }, direct_response: { status: 404 } },
      ],
    });
    const shapes: XdsObject[] = [
      { name: 'r1', virtual_hosts: [vhost('a'), rich, vhost('c')] },
      { name: 'r2', virtual_hosts: [vhost('a')], validate_clusters: { value: false }, request_headers_to_add: [{ header: { key: 'x-b', value: '2' } }], most_specific_header_mutations_wins: true, max_direct_response_body_size_bytes: { value: 1024 } },
      { virtual_hosts: [vhost('a')], internal_only_headers: ['x-internal'] },
      { name: 'r3', virtual_hosts: [] },
      { name: 'r4' },
      { name: 'r5', virtual_hosts: [vhost('a'), vhost('a')] },
      { name: 'x'.repeat(300), virtual_hosts: [vhost('y'.repeat(200))], response_headers_to_remove: ['server'] },
    ];
    for (const rc of shapes) expect(encodeRouteConfiguration(rc, cache).equals(encodeResource(ROUTE, rc))).toBe(true);
  });

  test('splitAfterField finds the first field numbered above 2 across wire types', () => {
    const b = encodeResource(ROUTE, { name: 'n', validate_clusters: { value: true }, internal_only_headers: ['h'] });
    const at = splitAfterField(b, 2);
    expect([...b.subarray(0, at)]).toEqual([0x0a, 1, 'n'.charCodeAt(0)]);
    expect(splitAfterField(encodeResource(ROUTE, { name: 'n' }), 2)).toBe(3);
    expect(splitAfterField(Buffer.alloc(0), 2)).toBe(0);
  });
});

describe('invalid route configurations fail exactly as the strict codec', () => {
  const bad: Array<[string, XdsObject]> = [
    ['unknown key in a virtual host', { name: 'r', virtual_hosts: [vhost('a'), vhost('b', { domian: ['x'] })] }],
    ['wrong type deep in a route', { name: 'r', virtual_hosts: [vhost('a', { routes: [{ match: { prefix: 7 }, route: { cluster: 'a' } }] })] }],
    ['bad Any in per-filter config', { name: 'r', virtual_hosts: [vhost('a', { typed_per_filter_config: { f: { '@type': TYPES.FAULT, abortt: {} } } })] }],
    ['a virtual host that is null', { name: 'r', virtual_hosts: [vhost('a'), null] }],
    ['a virtual host that is a string', { name: 'r', virtual_hosts: ['a'] }],
    ['virtual_hosts not an array', { name: 'r', virtual_hosts: { a: 1 } }],
    ['unknown top-level key next to valid hosts', { name: 'r', virtual_hosts: [vhost('a')], vhds_x: 1 }],
    ['bad top-level and bad host together', { name: 'r', virtual_hosts: [vhost('a', { nope: 1 })], validate_clusters: 'yes' }],
  ];
  test.each(bad)('%s', (_label, rc) => {
    const cache = new VirtualHostCache();
    cache.bytes(vhost('a'));
    const want = codecError(() => encodeResource(ROUTE, rc));
    expect(want?.code).toBe('WEFT_ERR_XDS_INVALID_RESOURCE');
    expect(codecError(() => encodeRouteConfiguration(rc, cache))).toEqual(want);
    expect(codecError(() => new EncodeCache().entry(ROUTE, 'r', rc))).toEqual(want);
  });

  test('an invalid host is not cached: the same content fails again, and the snapshot keeps failing', () => {
    const cache = new EncodeCache();
    const rc = { name: 'r', virtual_hosts: [vhost('a', { domian: ['x'] })] };
    for (let i = 0; i < 2; i++) {
      expect(codecError(() => buildSnapshot({ listeners: [], routes: [rc], clusters: [], endpoints: [] }, cache))?.code).toBe('WEFT_ERR_XDS_INVALID_RESOURCE');
    }
    expect(cache.virtualHostEncodes).toBe(0);
  });
});

describe('EncodeCache over model changes', () => {
  test('a canary change re-encodes one virtual host; unchanged entries are the same objects; all bytes match the codec', () => {
    const cache = new EncodeCache();
    const first = buildSnapshot(translate(model(10), SIDECAR), cache);
    const hosts = cache.virtualHostEncodes;
    expect(hosts).toBeGreaterThanOrEqual(40);
    cache.rotate();
    const x = translate(model(50), SIDECAR);
    const second = buildSnapshot(x, cache);
    expect(cache.virtualHostEncodes).toBe(hosts + 1);
    for (const [t, list, key] of [[LISTENER, x.listeners, 'name'], [ROUTE, x.routes, 'name'], [CLUSTER, x.clusters, 'name'], [ENDPOINT, x.endpoints, 'cluster_name']] as const) {
      for (const r of list) {
        const e = second.get(t)!.get(String(r[key]))!;
        const bytes = encodeResource(t, r);
        expect(e.bytes.equals(bytes)).toBe(true);
        expect(e.hash).toBe(hashBytes(bytes));
        if (t !== ROUTE) expect(e).toBe(first.get(t)!.get(e.name));
      }
    }
    const [name, changed] = [...second.get(ROUTE)!][0];
    expect(changed.hash).not.toBe(first.get(ROUTE)!.get(name)!.hash);
    expect(changed.refs.get(CLUSTER)).toEqual(expect.arrayContaining(['svc-0.default|v1|8080', 'svc-0.default|v2|8080'].filter((c) => second.get(CLUSTER)!.has(c))));
    // The same content again in the next generation: the previous entry comes back, nothing encoded.
    cache.rotate();
    const third = buildSnapshot(translate(model(50), SIDECAR), cache);
    expect(cache.virtualHostEncodes).toBe(hosts + 1);
    expect(third.get(ROUTE)!.get(name)).toBe(changed);
    // Back to the first content two generations later: one virtual host encoded again, same bytes.
    cache.rotate();
    const fourth = buildSnapshot(translate(model(10), SIDECAR), cache);
    expect(cache.virtualHostEncodes).toBe(hosts + 2);
    expect(fourth.get(ROUTE)!.get(name)!.bytes.equals(first.get(ROUTE)!.get(name)!.bytes)).toBe(true);
  });

  test('same name, different content (two client kinds) keeps both; dropped after two unused generations', () => {
    const cache = new EncodeCache();
    const c1 = { name: 'c', type: 'STATIC', connect_timeout: { seconds: 1 } };
    const c2 = { name: 'c', type: 'STATIC', connect_timeout: { seconds: 2 } };
    const a = cache.entry(CLUSTER, 'c', c1);
    const b = cache.entry(CLUSTER, 'c', c2);
    expect(a.hash).not.toBe(b.hash);
    expect(cache.entry(CLUSTER, 'c', { ...c1 })).toBe(a);
    cache.rotate();
    expect(cache.entry(CLUSTER, 'c', { ...c2 })).toBe(b);
    cache.rotate();
    cache.rotate();
    expect(cache.entry(CLUSTER, 'c', { ...c2 })).not.toBe(b);
  });
});

describe('versionOf', () => {
  test('one sha256 over the joined lines equals one update per piece (non-ASCII names too), order-independent', () => {
    const { createHash } = require('crypto') as typeof import('crypto');
    const cache = new EncodeCache();
    const entries = ['b', 'a', 'é|v1', '服务', 'a|b'].map((n, i) => cache.entry(CLUSTER, n, { name: n, type: 'STATIC', connect_timeout: { seconds: i + 1 } }));
    const h = createHash('sha256');
    for (const e of [...entries].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) h.update(e.name).update('\0').update(e.hash).update('\n');
    expect(versionOf(entries)).toBe(h.digest('hex').slice(0, 16));
    expect(versionOf([...entries].reverse())).toBe(versionOf(entries));
    expect(versionOf(entries.slice(1))).not.toBe(versionOf(entries));
  });
});
