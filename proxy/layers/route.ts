/**
 * The logical (route) layer: reads the current config once per request, picks the route table,
 * virtual host and route (gRFC A28), answers redirects and direct responses itself, and otherwise
 * applies header mutations, rewrites and the hash policy before handing the request down. Every
 * layer below reads the route from `meta`, so one request sees one config snapshot throughout.
 */
import type { ConfigCell } from '../config/cell';
import type { ForwardAction, HeaderMutation, ProxyConfig, RedirectAction, Route, RouteTable, VirtualHost } from '../config/types';
import { NoRouteError } from '../http/errors';
import { syntheticResponse } from '../http/respond';
import { fact, setFact } from '../stack/meta';
import type { Layer, ProxyRequest, ProxyResponse } from '../stack/types';
import { requestHash } from './hash';
import { applyMutations } from './headers';
import { selectRoute, splitPath } from './route-match';

/** Chooses the route table that serves a request (per direction: listener by authority, chain by port). */
export type TableFor = (config: ProxyConfig, req: ProxyRequest) => RouteTable | undefined;

/** The route chosen for a request, as left in `meta` by this layer. */
export function routeOf(req: ProxyRequest): Route | undefined {
  return fact(req, 'weft.route') as Route | undefined;
}

/** The forward action of the request's route (undefined for redirects and direct responses). */
export function forwardOf(req: ProxyRequest): ForwardAction | undefined {
  const r = routeOf(req);
  return r?.action.kind === 'forward' ? r.action : undefined;
}

/** The config snapshot the request was routed with. */
export function configOf(req: ProxyRequest): ProxyConfig | undefined {
  return fact(req, 'weft.config') as ProxyConfig | undefined;
}

function location(a: RedirectAction, req: ProxyRequest, matchedPrefix: string | undefined): string {
  const { path, query } = splitPath(req.path);
  const hostPort = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(req.authority);
  const host = a.host ?? hostPort?.[1] ?? req.authority;
  const port = a.port ?? (a.host ? undefined : hostPort?.[2]);
  const scheme = a.scheme ?? req.scheme;
  const defaultPort = scheme === 'https' ? 443 : 80;
  let newPath = path;
  if (a.path !== undefined) newPath = a.path;
  else if (a.prefixRewrite !== undefined && matchedPrefix !== undefined) newPath = a.prefixRewrite + path.slice(matchedPrefix.length);
  const keepQuery = !a.stripQuery && query !== '' && !newPath.includes('?');
  const portPart = port !== undefined && Number(port) !== defaultPort ? `:${port}` : '';
  return `${scheme}://${host}${portPart}${newPath}${keepQuery ? `?${query}` : ''}`;
}

/** Envoy's default order: route first, then virtual host, then table (the broader scope wins). */
function mutations(table: RouteTable, vhost: VirtualHost, route: Route, which: 'requestHeaders' | 'responseHeaders'): HeaderMutation[] {
  return [route[which], vhost[which], table[which]];
}

function withResponseHeaders(res: ProxyResponse, muts: HeaderMutation[]): ProxyResponse {
  const headers = applyMutations(res.headers, muts);
  return headers === res.headers ? res : { ...res, headers };
}

/** The route layer. `random` decides runtime fractions. */
export function route(cell: ConfigCell, tableFor: TableFor, random: () => number): Layer {
  return (next) => async (req) => {
    const config = cell.get();
    setFact(req, 'weft.config', config);
    const table = tableFor(config, req);
    const hit = table ? selectRoute(table, req, random) : undefined;
    if (!table || !hit) throw new NoRouteError(req.authority, splitPath(req.path).path);
    const { vhost, route: r } = hit;
    setFact(req, 'weft.route', r);
    setFact(req, 'weft.routeName', r.name);
    setFact(req, 'weft.vhost', vhost.name);
    const resMuts = mutations(table, vhost, r, 'responseHeaders');
    const a = r.action;
    const prefix = r.match.path.kind === 'prefix' ? r.match.path.value : undefined;
    if (a.kind === 'redirect') {
      return withResponseHeaders({ status: a.status, headers: { location: location(a, req, prefix), 'content-length': '0' }, body: null }, resMuts);
    }
    if (a.kind === 'direct') {
      return withResponseHeaders(syntheticResponse(a.status, a.body ?? ''), resMuts);
    }
    let path = req.path;
    if (a.prefixRewrite !== undefined && prefix !== undefined) path = a.prefixRewrite + req.path.slice(prefix.length);
    const down: ProxyRequest = {
      ...req,
      headers: applyMutations(req.headers, mutations(table, vhost, r, 'requestHeaders')),
      path,
      authority: a.hostRewrite ?? req.authority,
    };
    const hash = requestHash(a.hashPolicy, down);
    if (hash !== undefined) setFact(down, 'weft.hash', hash);
    return withResponseHeaders(await next(down), resMuts);
  };
}
