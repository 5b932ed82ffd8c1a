import { ConfigCell, parseXds } from '../../../proxy/config';
import { rescue } from '../../../proxy/http/respond';
import { route } from '../../../proxy/layers/route';
import { fact } from '../../../proxy/stack/meta';
import { compose } from '../../../proxy/stack/types';
import { fakeNext, makeRequest, readBody, seededRandom, textResponse } from '../../support/proxy-fixtures';

const routes = [
  { name: 'redirect', match: { prefix: '/old' }, redirect: { path_redirect: '/new', response_code: 'PERMANENT_REDIRECT', https_redirect: true } },
  { name: 'direct', match: { path: '/health' }, direct_response: { status: 200, body: { inline_string: 'fine' } } },
  {
    name: 'api',
    match: { prefix: '/api' },
    route: { cluster: 'c', prefix_rewrite: '/v2', hash_policy: [{ header: { header_name: 'x-user' } }] },
    request_headers_to_add: [{ header: { key: 'x-set', value: 'new' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }, { header: { key: 'x-add', value: 'two' } }],
    request_headers_to_remove: ['x-secret'],
    response_headers_to_add: [{ header: { key: 'x-served-by', value: 'weft' } }],
    response_headers_to_remove: ['server'],
  },
];
const cell = new ConfigCell(parseXds({ routes: [{ name: 't', virtual_hosts: [{ name: 'v', domains: ['reviews'], routes }] }] }));
const table = (c: ReturnType<typeof cell.get>) => c.routes.get('t');

test('GIVEN a forward route THEN header mutations, prefix rewrite, hash and route facts reach next, and response headers are mutated', async () => {
  const next = fakeNext(() => textResponse(200, 'ok', { server: 'app' }));
  const h = route(cell, table, seededRandom())(next);
  const res = await h(makeRequest({ path: '/api/items?x=1', headers: { 'x-set': 'old', 'x-add': 'one', 'x-secret': 's', 'x-user': 'u1' } }));
  const down = next.calls[0];
  expect(down.path).toBe('/v2/items?x=1');
  expect(down.headers).toEqual({ 'x-set': 'new', 'x-add': ['one', 'two'], 'x-user': 'u1' });
  expect(fact(down, 'weft.routeName')).toBe('api');
  expect(typeof fact(down, 'weft.hash')).toBe('number');
  expect(res.headers).toEqual({ 'x-served-by': 'weft' });
});

test('GIVEN a redirect route THEN a redirect is answered without calling next', async () => {
  const next = fakeNext();
  const res = await route(cell, table, seededRandom())(next)(makeRequest({ path: '/old/page?q=1' }));
  expect(res.status).toBe(308);
  expect(res.headers.location).toBe('https://reviews/new?q=1');
  expect(next.calls).toHaveLength(0);
});

test('GIVEN a direct response route THEN its status and body are answered', async () => {
  const res = await route(cell, table, seededRandom())(fakeNext())(makeRequest({ path: '/health' }));
  expect(res.status).toBe(200);
  expect(await readBody(res)).toBe('fine');
});

test('GIVEN no matching route THEN rescue answers 404 weft-error no_route (UNIMPLEMENTED for gRPC)', async () => {
  const h = compose(rescue, route(cell, table, seededRandom()))(fakeNext());
  const res = await h(makeRequest({ path: '/nothing' }));
  expect(res.status).toBe(404);
  expect(res.headers['weft-error']).toBe('no_route authority=reviews');
  const g = await h(makeRequest({ authority: 'unknown', grpc: true }));
  expect(g.status).toBe(200);
  expect(g.headers['grpc-status']).toBe('12');
});

test('GIVEN a config swap THEN requests that start after it use the new routes', async () => {
  const c = new ConfigCell(parseXds({ routes: [{ name: 't', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'one', match: { prefix: '' }, route: { cluster: 'a' } }] }] }] }));
  const next = fakeNext();
  const h = route(c, (x) => x.routes.get('t'), seededRandom())(next);
  await h(makeRequest());
  c.set(parseXds({ routes: [{ name: 't', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'two', match: { prefix: '' }, route: { cluster: 'b' } }] }] }] }));
  await h(makeRequest());
  expect(next.calls.map((r) => fact(r, 'weft.routeName'))).toEqual(['one', 'two']);
});
