import { parseXds } from '../../../proxy/config';
import type { RouteTable } from '../../../proxy/config';
import { matchRoute, selectRoute, selectVirtualHostForAuthority } from '../../../proxy/layers/route-match';
import { makeRequest, seededRandom } from '../../support/proxy-fixtures';

function table(vhosts: { name: string; domains: string[]; routes?: unknown[] }[]): RouteTable {
  const routes = [{ match: { prefix: '' }, route: { cluster: 'c' } }];
  return parseXds({ routes: [{ name: 't', virtual_hosts: vhosts.map((v) => ({ routes, ...v })) }] }).routes.get('t')!;
}

function routeWith(match: Record<string, unknown>) {
  return parseXds({ routes: [{ name: 't', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match, route: { cluster: 'c' } }] }] }] }).routes.get('t')!.virtualHosts[0].routes[0].match;
}

test('GIVEN exact, suffix, prefix and * domains THEN the most specific wins (A28)', () => {
  const t = table([
    { name: 'any', domains: ['*'] },
    { name: 'prefix', domains: ['api.*'] },
    { name: 'suffix-short', domains: ['*.com'] },
    { name: 'suffix-long', domains: ['*.example.com'] },
    { name: 'exact', domains: ['api.example.com'] },
  ]);
  const pick = (host: string) => selectVirtualHostForAuthority(t, host)?.name;
  expect(pick('api.example.com')).toBe('exact');
  expect(pick('API.Example.com')).toBe('exact'); // domains are case-insensitive
  expect(pick('www.example.com')).toBe('suffix-long');
  expect(pick('www.other.com')).toBe('suffix-short');
  expect(pick('api.internal')).toBe('prefix');
  expect(pick('elsewhere')).toBe('any');
  expect(pick('api.example.com:8080')).toBe('prefix'); // the authority as given (with port) matches api.*
  const noWildcards = table([{ name: 'reviews', domains: ['reviews'] }]);
  expect(selectVirtualHostForAuthority(noWildcards, 'reviews:9080')?.name).toBe('reviews'); // then without the port
});

test('GIVEN no * domain and an unknown host THEN no virtual host matches', () => {
  expect(selectRoute(table([{ name: 'a', domains: ['a'] }]), makeRequest({ authority: 'b' }), seededRandom())).toBeUndefined();
});

test('GIVEN path matchers THEN prefix, exact and regex follow case sensitivity and ignore the query', () => {
  const r = () => 0.5;
  expect(matchRoute(routeWith({ prefix: '/api' }), makeRequest({ path: '/api/x?y=1' }), r)).toBe(true);
  expect(matchRoute(routeWith({ prefix: '/api' }), makeRequest({ path: '/API/x' }), r)).toBe(false);
  expect(matchRoute(routeWith({ prefix: '/api', case_sensitive: { value: false } }), makeRequest({ path: '/API/x' }), r)).toBe(true);
  expect(matchRoute(routeWith({ path: '/exact' }), makeRequest({ path: '/exact?q' }), r)).toBe(true);
  expect(matchRoute(routeWith({ path: '/exact' }), makeRequest({ path: '/exact/more' }), r)).toBe(false);
  expect(matchRoute(routeWith({ safe_regex: { regex: '/v[0-9]+/items' } }), makeRequest({ path: '/v2/items' }), r)).toBe(true);
  expect(matchRoute(routeWith({ safe_regex: { regex: '/v[0-9]+' } }), makeRequest({ path: '/v2/items' }), r)).toBe(false); // full match
});

test('GIVEN header matchers THEN exact/regex/present/invert work and repeated values are joined by ","', () => {
  const r = () => 0.5;
  const m = (h: Record<string, unknown>) => routeWith({ prefix: '', headers: [h] });
  expect(matchRoute(m({ name: 'x-v', string_match: { exact: 'a,b' } }), makeRequest({ headers: { 'x-v': ['a', 'b'] } }), r)).toBe(true);
  expect(matchRoute(m({ name: 'x-v', safe_regex_match: { regex: 'canary-[0-9]' } }), makeRequest({ headers: { 'x-v': 'canary-7' } }), r)).toBe(true);
  expect(matchRoute(m({ name: 'x-v', present_match: true }), makeRequest({ headers: {} }), r)).toBe(false);
  expect(matchRoute(m({ name: 'x-v', string_match: { exact: 'a' }, invert_match: true }), makeRequest({ headers: { 'x-v': 'b' } }), r)).toBe(true);
  expect(matchRoute(m({ name: 'x-v', string_match: { exact: 'a' }, invert_match: true }), makeRequest({ headers: {} }), r)).toBe(true);
  expect(matchRoute(m({ name: ':method', string_match: { exact: 'POST' } }), makeRequest({ method: 'POST' }), r)).toBe(true);
  expect(matchRoute(m({ name: ':method', string_match: { exact: 'POST' } }), makeRequest({ method: 'GET' }), r)).toBe(false);
});

test('GIVEN query and runtime-fraction matchers THEN both apply', () => {
  const q = routeWith({ prefix: '', query_parameters: [{ name: 'debug', string_match: { exact: '1' } }] });
  expect(matchRoute(q, makeRequest({ path: '/a?debug=1' }), seededRandom())).toBe(true);
  expect(matchRoute(q, makeRequest({ path: '/a?debug=2' }), seededRandom())).toBe(false);
  const f = routeWith({ prefix: '', runtime_fraction: { default_value: { numerator: 30 } } });
  expect(matchRoute(f, makeRequest(), () => 0.29)).toBe(true);
  expect(matchRoute(f, makeRequest(), () => 0.31)).toBe(false);
});

test('GIVEN routes in order THEN the first match wins', () => {
  const t = parseXds({ routes: [{ name: 't', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [
    { name: 'a', match: { prefix: '/a' }, route: { cluster: 'c' } },
    { name: 'all', match: { prefix: '' }, route: { cluster: 'c' } },
    { name: 'a2', match: { prefix: '/a' }, route: { cluster: 'c' } },
  ] }] }] }).routes.get('t')!;
  expect(selectRoute(t, makeRequest({ path: '/a/b' }), seededRandom())!.route.name).toBe('a');
  expect(selectRoute(t, makeRequest({ path: '/b' }), seededRandom())!.route.name).toBe('all');
});
