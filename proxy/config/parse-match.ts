/**
 * Parses Envoy v3 RouteMatch, HeaderMatcher, StringMatcher and header mutations into typed values
 * (gRFC A28). Regexes are compiled here once, so a bad one is a NACK and not a per-request error.
 */
import { Reader, compileRegex, readPercent } from './fields';
import type { HeaderMatcher, HeaderMutation, QueryMatcher, RouteMatch, StringMatcher } from './types';

/** Envoy's `type.matcher.v3.StringMatcher`. */
export function parseStringMatcher(r: Reader): StringMatcher | undefined {
  const ignoreCase = r.bool('ignore_case') ?? false;
  for (const kind of ['exact', 'prefix', 'suffix', 'contains'] as const) {
    const value = r.str(kind);
    if (value !== undefined) return { kind, value: ignoreCase ? value.toLowerCase() : value, ignoreCase };
  }
  const re = r.child('safe_regex');
  if (re) {
    const regex = compileRegex(re, 'regex', re.str('regex'), ignoreCase);
    return regex ? { kind: 'regex', regex } : undefined;
  }
  r.problem(undefined, 'string matcher needs one of exact, prefix, suffix, contains, safe_regex');
  return undefined;
}

/** Envoy's `config.route.v3.HeaderMatcher` (old `*_match` fields and the newer `string_match`). */
export function parseHeaderMatcher(r: Reader): HeaderMatcher | undefined {
  const name = r.str('name', true)?.toLowerCase();
  if (!name) return undefined;
  const invert = r.bool('invert_match') ?? false;
  const present = r.bool('present_match');
  if (present !== undefined) return { name, present, invert };
  const sm = r.child('string_match');
  if (sm) {
    const matcher = parseStringMatcher(sm);
    return matcher ? { name, matcher, invert } : undefined;
  }
  const exact = r.str('exact_match');
  if (exact !== undefined) return { name, matcher: { kind: 'exact', value: exact, ignoreCase: false }, invert };
  for (const [field, kind] of [['prefix_match', 'prefix'], ['suffix_match', 'suffix'], ['contains_match', 'contains']] as const) {
    const value = r.str(field);
    if (value !== undefined) return { name, matcher: { kind, value, ignoreCase: false }, invert };
  }
  const re = r.child('safe_regex_match');
  if (re) {
    const regex = compileRegex(re, 'regex', re.str('regex'));
    return regex ? { name, matcher: { kind: 'regex', regex }, invert } : undefined;
  }
  const range = r.child('range_match');
  if (range) {
    const start = range.num('start', { integer: true, required: true });
    const end = range.num('end', { integer: true, required: true });
    if (start === undefined || end === undefined) return undefined;
    if (end <= start) range.problem('end', `must be greater than start (${start}), got ${end}`);
    return { name, range: { start, end }, invert };
  }
  // No specifier: Envoy treats it as "header is present".
  return { name, present: true, invert };
}

function parseQueryMatcher(r: Reader, inverted: readonly string[]): QueryMatcher | undefined {
  const name = r.str('name', true);
  if (name === undefined) return undefined;
  const invert = inverted.includes(name);
  const present = r.bool('present_match');
  if (present !== undefined) return { name, present, invert };
  const sm = r.child('string_match');
  if (!sm) return { name, present: true, invert };
  const matcher = parseStringMatcher(sm);
  return matcher ? { name, matcher, invert } : undefined;
}

/** Envoy's `config.route.v3.RouteMatch`. */
export function parseRouteMatch(r: Reader, invertedQuery: readonly string[] = []): RouteMatch | undefined {
  const caseSensitive = r.bool('case_sensitive') ?? true;
  const prefix = r.str('prefix');
  const exact = r.str('path');
  const re = r.child('safe_regex');
  const given = [prefix, exact, re].filter((x) => x !== undefined).length;
  if (given !== 1) {
    r.problem(undefined, given === 0 ? 'needs a path specifier: prefix, path or safe_regex' : 'has more than one path specifier');
    return undefined;
  }
  let path: RouteMatch['path'] | undefined;
  if (prefix !== undefined) path = { kind: 'prefix', value: caseSensitive ? prefix : prefix.toLowerCase(), caseSensitive };
  else if (exact !== undefined) path = { kind: 'exact', value: caseSensitive ? exact : exact.toLowerCase(), caseSensitive };
  else {
    const regex = compileRegex(re!, 'regex', re!.str('regex'), !caseSensitive);
    if (regex) path = { kind: 'regex', regex };
  }
  const headers = r.list('headers').map(parseHeaderMatcher);
  const query = r.list('query_parameters').map((q) => parseQueryMatcher(q, invertedQuery));
  const fraction = r.child('runtime_fraction');
  const fractionPercent = fraction ? readPercent(fraction) ?? 100 : 100;
  if (!path || headers.includes(undefined) || query.includes(undefined)) return undefined;
  return {
    path,
    headers: headers as HeaderMatcher[],
    query: query as QueryMatcher[],
    fractionPercent,
    grpcOnly: r.has('grpc'),
  };
}

const EMPTY: HeaderMutation = { set: [], add: [], addIfAbsent: [], remove: [] };

/** `*_headers_to_add` + `*_headers_to_remove` of a route, virtual host or route table. */
export function parseHeaderMutation(r: Reader, which: 'request' | 'response'): HeaderMutation {
  const adds = r.list(`${which}_headers_to_add`);
  const remove = r.strings(`${which}_headers_to_remove`).map((h) => h.toLowerCase());
  if (adds.length === 0 && remove.length === 0) return EMPTY;
  const set: [string, string][] = [];
  const add: [string, string][] = [];
  const addIfAbsent: [string, string][] = [];
  for (const opt of adds) {
    const h = opt.child('header');
    const key = h?.str('key', true)?.toLowerCase();
    const value = h?.str('value') ?? '';
    if (!key) {
      if (!h) opt.problem('header', 'is required');
      continue;
    }
    if (key.startsWith(':') || key === 'host') {
      opt.problem('header.key', `may not modify pseudo-header or host (${key})`);
      continue;
    }
    if (/[\r\n\0]/.test(value)) {
      opt.problem('header.value', 'may not contain CR, LF or NUL');
      continue;
    }
    const action = opt.enumOf('append_action', ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'] as const);
    const append = opt.bool('append');
    if (action === 'ADD_IF_ABSENT') addIfAbsent.push([key, value]);
    else if (action === 'OVERWRITE_IF_EXISTS_OR_ADD' || action === 'OVERWRITE_IF_EXISTS' || append === false) set.push([key, value]);
    else add.push([key, value]);
  }
  return { set, add, addIfAbsent, remove };
}

/** The empty mutation (shared, frozen by the caller). */
export const NO_HEADER_MUTATION = EMPTY;
