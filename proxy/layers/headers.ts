/**
 * Header mutations (Envoy `*_headers_to_add` / `*_headers_to_remove`), applied most specific last:
 * route table, then virtual host, then route, so a route's `set` wins. Pure: returns a new map.
 */
import type { HeaderMutation } from '../config/types';
import type { Headers } from '../stack/types';

/** `headers` with `mutations` applied in order. */
export function applyMutations(headers: Headers, mutations: readonly HeaderMutation[]): Headers {
  if (mutations.every((m) => m.set.length + m.add.length + m.addIfAbsent.length + m.remove.length === 0)) return headers;
  const out: Headers = { ...headers };
  for (const m of mutations) {
    for (const name of m.remove) delete out[name];
    for (const [k, v] of m.set) out[k] = v;
    for (const [k, v] of m.add) {
      const cur = out[k];
      out[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
    }
    for (const [k, v] of m.addIfAbsent) if (out[k] === undefined) out[k] = v;
  }
  return out;
}
