/**
 * gRFC A28 route selection as pure functions: the virtual host by authority (exact, then the
 * longest suffix wildcard, then the longest prefix wildcard, then `*`), then the first route whose
 * path, headers, query parameters and runtime fraction all match.
 */
import type { HeaderMatcher, QueryMatcher, Route, RouteMatch, RouteTable, StringMatcher, VirtualHost } from '../config/types';
import type { ProxyRequest } from '../stack/types';

const KIND_RANK = { exact: 3, suffix: 2, prefix: 1, any: 0 } as const;

/** The virtual host serving `host` (lower-case), or undefined. */
export function selectVirtualHost(table: RouteTable, host: string): VirtualHost | undefined {
  let best: VirtualHost | undefined;
  let bestRank = -1;
  let bestLen = -1;
  for (const vh of table.virtualHosts) {
    for (const d of vh.domains) {
      const ok = d.kind === 'any'
        || (d.kind === 'exact' && host === d.value)
        || (d.kind === 'suffix' && host.length > d.value.length && host.endsWith(d.value))
        || (d.kind === 'prefix' && host.length > d.value.length && host.startsWith(d.value));
      if (!ok) continue;
      const rank = KIND_RANK[d.kind];
      if (rank > bestRank || (rank === bestRank && d.value.length > bestLen)) {
        best = vh;
        bestRank = rank;
        bestLen = d.value.length;
      }
    }
  }
  return best;
}

/** A28 tries the authority as given, then without its port. */
export function selectVirtualHostForAuthority(table: RouteTable, authority: string): VirtualHost | undefined {
  const a = authority.toLowerCase();
  const exact = selectVirtualHost(table, a);
  if (exact) return exact;
  const m = /^(\[[^\]]+\]|[^:]+):\d+$/.exec(a);
  return m ? selectVirtualHost(table, m[1]) : undefined;
}

/** Whether `value` satisfies a StringMatcher. */
export function matchString(m: StringMatcher, value: string): boolean {
  if (m.kind === 'regex') return m.regex.test(value);
  const v = m.ignoreCase ? value.toLowerCase() : value;
  switch (m.kind) {
    case 'exact': return v === m.value;
    case 'prefix': return v.startsWith(m.value);
    case 'suffix': return v.endsWith(m.value);
    default: return v.includes(m.value);
  }
}

/** The value a header matcher sees: pseudo-headers from the request, repeated headers joined by ','. */
function headerValue(req: ProxyRequest, name: string): string | undefined {
  if (name === ':method') return req.method;
  if (name === ':authority' || name === 'host') return req.authority;
  if (name === ':path') return req.path;
  if (name === ':scheme') return req.scheme;
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** A28 header matching, including `invert_match`. */
export function matchHeader(m: HeaderMatcher, req: ProxyRequest): boolean {
  const v = headerValue(req, m.name);
  let ok: boolean;
  if (m.present !== undefined) ok = (v !== undefined) === m.present;
  else if (v === undefined) ok = false;
  else if (m.range) ok = /^-?\d+$/.test(v) && Number(v) >= m.range.start && Number(v) < m.range.end;
  else ok = matchString(m.matcher!, v);
  return m.invert ? !ok : ok;
}

function matchQuery(m: QueryMatcher, params: URLSearchParams): boolean {
  const v = params.get(m.name);
  let ok: boolean;
  if (m.present !== undefined) ok = (v !== null) === m.present;
  else ok = v !== null && matchString(m.matcher!, v);
  return m.invert ? !ok : ok;
}

/** Splits `/a/b?x=1` into path and query. */
export function splitPath(path: string): { path: string; query: string } {
  const i = path.indexOf('?');
  return i < 0 ? { path, query: '' } : { path: path.slice(0, i), query: path.slice(i + 1) };
}

/** Whether `req` satisfies a RouteMatch; `random` decides runtime fractions. */
export function matchRoute(m: RouteMatch, req: ProxyRequest, random: () => number): boolean {
  const { path, query } = splitPath(req.path);
  const p = m.path;
  if (p.kind === 'regex') {
    if (!p.regex.test(path)) return false;
  } else {
    const v = p.caseSensitive ? path : path.toLowerCase();
    if (p.kind === 'exact' ? v !== p.value : !v.startsWith(p.value)) return false;
  }
  if (m.grpcOnly && !req.grpc) return false;
  if (!m.headers.every((h) => matchHeader(h, req))) return false;
  if (m.query.length > 0) {
    const params = new URLSearchParams(query);
    if (!m.query.every((q) => matchQuery(q, params))) return false;
  }
  return m.fractionPercent >= 100 || random() * 100 < m.fractionPercent;
}

/** The virtual host and first matching route for `req`, or undefined. */
export function selectRoute(table: RouteTable, req: ProxyRequest, random: () => number): { vhost: VirtualHost; route: Route } | undefined {
  const vhost = selectVirtualHostForAuthority(table, req.authority);
  if (!vhost) return undefined;
  const route = vhost.routes.find((r) => matchRoute(r.match, req, random));
  return route ? { vhost, route } : undefined;
}
