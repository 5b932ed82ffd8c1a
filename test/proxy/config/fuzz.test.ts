/**
 * Bad input never crashes the config boundary: arbitrary values (and valid resources with fields
 * replaced by arbitrary values) yield per-resource errors or a valid config, never a throw.
 */
import fc from 'fast-check';
import { parseXdsResources } from '../../../proxy/config';
import { TYPES, cla, cluster, dur, listener, routeConfig } from '../../support/proxy-fixtures';

const base = () => ({
  listeners: [listener('outbound', 'outbound')],
  routes: [routeConfig('outbound', ['*'], [{ match: { prefix: '/' }, route: { cluster: 'c', timeout: dur(100), retry_policy: { retry_on: '5xx' } }, typed_per_filter_config: { f: { '@type': TYPES.FAULT, abort: { http_status: 503 } } } }])],
  clusters: [cluster('c', { outlier_detection: {} })],
  endpoints: [cla('c', ['10.0.0.1:80'])],
});

/** Every object path in `v`, so a mutation can replace any field. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null) return [prefix];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  return [prefix, ...entries.flatMap(([k, x]) => paths(x, [...prefix, k]))];
}

function setAt(root: any, path: (string | number)[], value: unknown): void {
  let o = root;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]] = value;
}

test('PROPERTY: arbitrary resource lists never make the parser throw', () => {
  fc.assert(fc.property(fc.record({ listeners: fc.array(fc.anything()), routes: fc.array(fc.anything()), clusters: fc.array(fc.anything()), endpoints: fc.array(fc.anything()) }), (input) => {
    const { errors, config } = parseXdsResources(input);
    return Array.isArray(errors) && config.clusters instanceof Map;
  }), { numRuns: 200 });
});

test('PROPERTY: replacing any field of valid resources by an arbitrary value yields errors or a config, never a throw', () => {
  const all = paths(base()).filter((p) => p.length > 1);
  fc.assert(fc.property(fc.constantFrom(...all), fc.anything(), (path, value) => {
    const input = base();
    setAt(input, path, value);
    const { errors } = parseXdsResources(input);
    return errors.every((e) => e.problems.length > 0 && e.problems.every((p) => typeof p === 'string'));
  }), { numRuns: 400 });
});

test('REGRESSION: objects whose toString is not callable (fast-check seed -1526088991) are rejected, not thrown on', () => {
  const hostile = { toString: {} };
  for (const path of [['routes', 0, 'virtual_hosts', 0, 'routes', 0, 'route', 'timeout', 'nanos'], ['routes', 0, 'virtual_hosts', 0, 'routes', 0, 'route', 'retry_policy', 'retriable_status_codes']] as const) {
    const input = base();
    setAt(input, [...path], path[path.length - 1] === 'nanos' ? hostile : [hostile]);
    const { errors } = parseXdsResources(input);
    expect(errors.length).toBeGreaterThan(0);
  }
});
