/** The strict xDS codec: unknown keys are rejected at any depth (inside Any too); the object form round-trips. */
import { decodeResource, encodeResource, normalizeResource, resourceCodecProblems } from '../../api/xds/codec';
import { CLUSTER, ENDPOINT, LISTENER, lookupTypeUrl, ROUTE, TYPES } from '../../api/xds/protos';

const listener = () => ({
  name: 'echo.default:50051',
  api_listener: {
    api_listener: {
      '@type': TYPES.HCM,
      rds: { route_config_name: 'echo.default:50051', config_source: { ads: {}, resource_api_version: 'V3' } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPES.ROUTER } }],
    },
  },
});

const codeOf = (fn: () => unknown) => {
  try { fn(); } catch (e) { return { code: (e as { code: string }).code, message: (e as Error).message }; }
  return undefined;
};

describe('strict encoder', () => {
  test('an unknown top-level key is rejected with its path and a hint', () => {
    const e = codeOf(() => encodeResource(CLUSTER, { name: 'c', lb_policy: 'ROUND_ROBIN', connectTimeout: { seconds: 1 } }));
    expect(e?.code).toBe('WEFT_ERR_XDS_INVALID_RESOURCE');
    expect(e?.message).toMatch(/c\.connectTimeout: unknown field of envoy\.config\.cluster\.v3\.Cluster \(did you mean connect_timeout\?\)/);
  });

  test('an unknown key deep inside is rejected', () => {
    const e = codeOf(() => encodeResource(CLUSTER, { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, adss: {} } } }));
    expect(e?.message).toMatch(/c\.eds_cluster_config\.eds_config\.adss: unknown field/);
  });

  test('an unknown key inside an Any (the HCM) is rejected', () => {
    const l = listener();
    (l.api_listener.api_listener as Record<string, unknown>).http_filter = [];
    expect(codeOf(() => encodeResource(LISTENER, l))?.message).toMatch(/api_listener\.api_listener\.http_filter: unknown field of envoy\.extensions\.filters\.network\.http_connection_manager\.v3\.HttpConnectionManager/);
  });

  test('Any needs a known @type', () => {
    expect(resourceCodecProblems(LISTENER, { name: 'x', api_listener: { api_listener: { rds: {} } } })[0]).toMatch(/needs "@type"/);
    expect(resourceCodecProblems(LISTENER, { name: 'x', api_listener: { api_listener: { '@type': 'type.googleapis.com/no.such.Type' } } })[0]).toMatch(/unknown type URL/);
  });

  test('two members of a oneof, wrong scalar types, bad enums and nulls are rejected', () => {
    const problems = resourceCodecProblems(ROUTE, {
      name: 'r',
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '', path: '/x' }, route: { cluster: 'c', weighted_clusters: { clusters: [{ name: 'c', weight: { value: '80' } }] } } }] }],
    });
    expect(problems.join('\n')).toMatch(/oneof path_specifier already has prefix/);
    expect(problems.join('\n')).toMatch(/oneof cluster_specifier already has cluster/);
    expect(problems.join('\n')).toMatch(/weight\.value: expected an unsigned 32-bit integer/);
    expect(resourceCodecProblems(CLUSTER, { name: 'c', lb_policy: 'PEAK_EWMA' })[0]).toMatch(/not a value of enum LbPolicy/);
    expect(resourceCodecProblems(CLUSTER, { name: 'c', metadata: null })[0]).toMatch(/null is not allowed/);
  });

  test('an unknown type URL is its own error', () => {
    expect(codeOf(() => encodeResource('type.googleapis.com/nope.Nope', {}))?.code).toBe('WEFT_ERR_XDS_UNKNOWN_TYPE');
  });
});

describe('object form', () => {
  test('a listener with nested Any round-trips exactly', () => {
    const l = listener();
    expect(decodeResource(LISTENER, encodeResource(LISTENER, l))).toEqual(l);
  });

  test('Struct metadata is plain JSON; Durations are {seconds, nanos}; wrappers are {value}; enums are names', () => {
    const c = {
      name: 'c', type: 'EDS', lb_policy: 'RING_HASH', connect_timeout: { seconds: 2, nanos: 500_000_000 },
      circuit_breakers: { thresholds: [{ max_requests: { value: 7 } }] },
      metadata: { filter_metadata: { weft: { lbPolicy: 'peak-ewma', n: 1.5, flags: [true, null, 'x'], nested: { a: { b: 0 } } } } },
    };
    expect(decodeResource(CLUSTER, encodeResource(CLUSTER, c))).toEqual(c);
  });

  test('int64 accepts numbers and decimal strings and decodes to numbers; explicitly set zeros stay', () => {
    expect(normalizeResource(CLUSTER, { name: 'c', connect_timeout: { seconds: '3', nanos: 0 } })).toEqual({ name: 'c', connect_timeout: { seconds: 3, nanos: 0 } });
  });

  test('a ClusterLoadAssignment keeps an empty locality (grpc-js needs the field present)', () => {
    const cla = { cluster_name: 'c', endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 80 } } } }] }] };
    expect(decodeResource(ENDPOINT, encodeResource(ENDPOINT, cla))).toEqual(cla);
  });

  test('an Any of a type this build does not know decodes to @type plus raw @value', () => {
    const Any = lookupTypeUrl('x/google.protobuf.Any')!;
    const T = lookupTypeUrl(LISTENER)!;
    const bytes = T.encode(T.fromObject({ name: 'l', api_listener: { api_listener: Any.create({ type_url: 'type.googleapis.com/x.Unknown', value: Buffer.from([8, 1]) }) } })).finish();
    expect(decodeResource(LISTENER, bytes)).toEqual({ name: 'l', api_listener: { api_listener: { '@type': 'type.googleapis.com/x.Unknown', '@value': 'CAE=' } } });
  });

  test('garbage bytes are a decode error', () => {
    expect(codeOf(() => decodeResource(CLUSTER, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff])))?.code).toBe('WEFT_ERR_XDS_DECODE');
  });
});
