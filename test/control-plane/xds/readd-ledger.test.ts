/** The re-add guard's variants and the NACK text parser, unit by unit. */
import { decodeResource } from '../../../api/xds/codec';
import { CLUSTER, LISTENER, ROUTE } from '../../../api/xds/protos';
import { parseNackErrors } from '../../../control-plane/xds/ledger';
import { ReaddGuard } from '../../../control-plane/xds/readd';
import { buildSnapshot, Entry } from '../../../control-plane/xds/snapshot';

const snap = (listenerName: string, clusterMax?: number, rds = 'r') => buildSnapshot({
  listeners: [{ name: listenerName, api_listener: { api_listener: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', rds: { route_config_name: rds, config_source: { ads: {} } }, http_filters: [{ name: 'router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }] } } }],
  routes: [],
  clusters: [{ name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: 'c' }, ...(clusterMax ? { circuit_breakers: { thresholds: [{ max_requests: { value: clusterMax } }] } } : {}) }],
  endpoints: [],
});
const only = (m: ReadonlyMap<string, Entry> | undefined) => [...(m ?? new Map<string, Entry>()).values()];

describe('ReaddGuard', () => {
  test('a Listener deleted then re-added byte-identical gets a stable variant; a changed one passes as is', () => {
    const g = new ReaddGuard();
    const l = only(snap('echo').get(LISTENER));
    expect(g.apply(LISTENER, l, undefined)).toEqual({ entries: l, swapped: false });
    expect(g.apply(LISTENER, [], new Map(l.map((e) => [e.name, e]))).entries).toEqual([]);
    const back = g.apply(LISTENER, l, new Map());
    expect(back.swapped).toBe(true);
    expect(back.entries[0].hash).not.toBe(l[0].hash);
    expect(decodeResource(LISTENER, back.entries[0].bytes).stat_prefix).toBe('weft-readd-1');
    expect(g.apply(LISTENER, l, new Map(back.entries.map((e) => [e.name, e]))).entries[0]).toBe(back.entries[0]);
    const changed = only(snap('echo', undefined, 'r2').get(LISTENER));
    expect(g.apply(LISTENER, changed, new Map(back.entries.map((e) => [e.name, e])))).toEqual({ entries: changed, swapped: false });
  });

  test('a Cluster variant raises max_requests over the value in force (1024 when unset)', () => {
    for (const [max, want] of [[undefined, 1025], [10, 11]] as const) {
      const g = new ReaddGuard();
      const c = only(snap('x', max).get(CLUSTER));
      g.apply(CLUSTER, [], new Map(c.map((e) => [e.name, e])));
      const back = g.apply(CLUSTER, c, new Map()).entries[0];
      expect(decodeResource(CLUSTER, back.bytes).circuit_breakers).toEqual({ thresholds: [{ max_requests: { value: want } }] });
    }
  });

  test('other types are never touched', () => {
    expect(new ReaddGuard().apply(ROUTE, [], new Map()).swapped).toBe(false);
  });
});

describe('parseNackErrors', () => {
  test('grpc-js text maps "resource index N" to the names sent, in order', () => {
    const m = parseNackErrors('xDS response validation errors: [resource index 0: bad a; resource index 2: bad c; more]', ['a', 'b', 'c']);
    expect([...m]).toEqual([['a', 'bad a'], ['c', 'bad c; more']]);
  });

  test('Envoy-style text naming resources is attributed by name; unattributable text names none', () => {
    expect([...parseNackErrors('Proto constraint validation failed (cluster web.default|v1: bad)', ['echo.default|v1', 'web.default|v1']).keys()]).toEqual(['web.default|v1']);
    expect(parseNackErrors('something went wrong', ['a']).size).toBe(0);
  });
});
