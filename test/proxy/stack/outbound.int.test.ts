/**
 * buildOutboundHandler against REAL node:http upstreams on 127.0.0.1:0, through the real endpoint
 * clients (proxy/transport/endpoints.ts): weighted split, retries reaching another endpoint,
 * connect failures, no endpoints, timeouts, body replay, mid-body resets, config swaps.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { parseXds } from '../../../proxy/config';
import { buildOutboundHandler } from '../../../proxy/outbound/stack';
import type { StackHandler } from '../../../proxy/outbound/stack';
import { EndpointClients } from '../../../proxy/transport/endpoints';
import { cla, cluster, dur, listener, makeRequest, readBody, seededRandom } from '../../support/proxy-fixtures';
import { expectBinomial } from '../../support/stats';

interface Upstream {
  name: string;
  port: number;
  hits: number;
  server: http.Server;
}

const upstreams: Upstream[] = [];

async function start(name: string, handle: (req: http.IncomingMessage, res: http.ServerResponse, u: Upstream) => void = (_q, res, u) => res.end(u.name)): Promise<Upstream> {
  const u = { name, port: 0, hits: 0 } as Upstream;
  u.server = http.createServer((req, res) => {
    u.hits++;
    handle(req, res, u);
  });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.port = (u.server.address() as AddressInfo).port;
  upstreams.push(u);
  return u;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

let v1a: Upstream, v1b: Upstream, v2: Upstream, bad: Upstream, slow: Upstream, echo: Upstream, cut: Upstream;
let deadPort: number;
const clients = new EndpointClients();
let stack: StackHandler;
let registry: Registry;

function resources(split: [number, number]) {
  const route = (name: string, prefix: string, action: Record<string, unknown>) => ({ name, match: { prefix }, route: action });
  return {
    listeners: [listener('outbound', 'outbound')],
    routes: [{ name: 'outbound', virtual_hosts: [{ name: 'reviews', domains: ['reviews', 'reviews:9080'], routes: [
      route('retry-other', '/retry', { cluster: 'mixed', retry_policy: { retry_on: '5xx', num_retries: { value: 2 }, retry_back_off: { base_interval: dur(1) } } }),
      route('connect', '/connect', { cluster: 'dead-and-good', retry_policy: { retry_on: 'connect-failure', num_retries: { value: 2 }, retry_back_off: { base_interval: dur(1) } } }),
      route('empty', '/empty', { cluster: 'empty' }),
      route('slow', '/slow', { cluster: 'slow', timeout: dur(50) }),
      route('echo', '/echo', { cluster: 'echo-bad-first', retry_policy: { retry_on: '5xx', num_retries: { value: 3 }, retry_back_off: { base_interval: dur(1) } } }),
      route('cut', '/cut', { cluster: 'cut', retry_policy: { retry_on: '5xx,reset', num_retries: { value: 3 } } }),
      route('split', '', { weighted_clusters: { clusters: [{ name: 'v1', weight: { value: split[0] } }, { name: 'v2', weight: { value: split[1] } }] } }),
    ] }] }],
    clusters: [
      cluster('v1'), cluster('v2'), cluster('empty'), cluster('slow'), cluster('cut'),
      cluster('mixed', { lb_policy: 'ROUND_ROBIN' }),
      cluster('dead-and-good', { lb_policy: 'ROUND_ROBIN' }),
      cluster('echo-bad-first', { lb_policy: 'ROUND_ROBIN' }),
    ],
    endpoints: [
      cla('v1', [`127.0.0.1:${v1a.port}`, `127.0.0.1:${v1b.port}`]),
      cla('v2', [`127.0.0.1:${v2.port}`]),
      cla('empty', []),
      cla('slow', [`127.0.0.1:${slow.port}`]),
      cla('cut', [`127.0.0.1:${cut.port}`]),
      cla('mixed', [`127.0.0.1:${bad.port}`, `127.0.0.1:${v1a.port}`]),
      cla('dead-and-good', [`127.0.0.1:${deadPort}`, `127.0.0.1:${v2.port}`]),
      cla('echo-bad-first', [`127.0.0.1:${bad.port}`, `127.0.0.1:${echo.port}`]),
    ],
  };
}

beforeAll(async () => {
  v1a = await start('v1a');
  v1b = await start('v1b');
  v2 = await start('v2');
  bad = await start('bad', (req, res) => req.resume().on('end', () => { res.statusCode = 503; res.end('bad'); }));
  slow = await start('slow', () => undefined);
  echo = await start('echo', (req, res) => { const c: Buffer[] = []; req.on('data', (d) => c.push(d)).on('end', () => res.end(Buffer.concat(c))); });
  cut = await start('cut', (_req, res) => { res.writeHead(200, { 'content-length': '100' }); res.write('partial'); setImmediate(() => res.socket?.destroy()); });
  deadPort = await closedPort();
  registry = new Registry();
  stack = buildOutboundHandler(parseXds(resources([80, 20])), { endpointClient: clients.endpointClient, metrics: registry, random: seededRandom(17) });
});

afterAll(async () => {
  stack.close();
  clients.close();
  await Promise.all(upstreams.map((u) => new Promise((r) => { u.server.closeAllConnections(); u.server.close(r); })));
});

async function get(path: string, extra: Parameters<typeof makeRequest>[0] = {}) {
  const res = await stack(makeRequest({ authority: 'reviews', path, ...extra }));
  return { status: res.status, headers: res.headers, body: await readBody(res).catch((e: Error) => `!${e.message}`) };
}

test('GIVEN 80/20 weighted clusters THEN traffic splits by weight (exact binomial band) and v1 spreads over both endpoints', async () => {
  // Eight requests in flight: peak-EWMA weighs latency by load, so with concurrency it spreads over
  // both v1 endpoints; strictly one at a time it rightly keeps to the faster one (see ewma.ts).
  const n = 400;
  const seen: Record<string, number> = {};
  let sent = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (sent < n) {
      sent++;
      const r = await get('/');
      seen[r.body] = (seen[r.body] ?? 0) + 1;
    }
  }));
  const v2share = seen.v2 ?? 0;
  expectBinomial(`requests to v2 of ${n} at weight 20/100`, v2share, n, 0.2);
  expect(seen.v1a).toBeGreaterThan(0);
  expect(seen.v1b).toBeGreaterThan(0);
});

test('GIVEN one endpoint answering 503 THEN a retry reaches the other endpoint and the client sees 200', async () => {
  const before = bad.hits;
  for (let i = 0; i < 6; i++) expect(await get('/retry')).toMatchObject({ status: 200, body: 'v1a' });
  expect(bad.hits).toBeGreaterThan(before);
});

test('GIVEN an endpoint that refuses connections THEN connect-failure retries reach the live one', async () => {
  for (let i = 0; i < 4; i++) expect(await get('/connect')).toMatchObject({ status: 200, body: 'v2' });
});

test('GIVEN a cluster without endpoints THEN 503 no_endpoints', async () => {
  expect(await get('/empty')).toMatchObject({ status: 503, headers: { 'weft-error': 'no_endpoints route=empty cluster=empty' } });
});

test('GIVEN an upstream slower than the route timeout THEN 504 timeout naming the route', async () => {
  expect(await get('/slow')).toMatchObject({ status: 504, headers: { 'weft-error': 'timeout route=slow' } });
});

test('GIVEN a POST body and a first endpoint answering 503 THEN the retry replays the body to the echo endpoint', async () => {
  const r = await get('/echo', { method: 'POST', body: 'hello body', headers: { 'content-length': '10' } });
  expect(r).toMatchObject({ status: 200, body: 'hello body' });
});

test('GIVEN an upstream that resets mid-body THEN the client sees a broken body and no retry happens', async () => {
  const before = cut.hits;
  const r = await get('/cut');
  expect(r.status).toBe(200);
  expect(r.body.startsWith('!')).toBe(true);
  expect(cut.hits - before).toBe(1);
});

test('GIVEN a config swap THEN new requests follow it and the v1 balancer state survives', async () => {
  const v1State = stack.backends.get('v1')!.endpoints[0];
  stack.cell.set(parseXds(resources([0, 100])));
  for (let i = 0; i < 10; i++) expect((await get('/')).body).toBe('v2');
  expect(stack.backends.get('v1')!.endpoints[0]).toBe(v1State);
  stack.cell.set(parseXds(resources([80, 20])));
});

test('GIVEN unknown authority THEN 404 no_route; and the golden metrics count by route and status', async () => {
  expect((await get('/', { authority: 'ratings' })).status).toBe(404);
  const text = await registry.metrics();
  expect(text).toMatch(/weft_proxy_requests_total\{direction="outbound",authority="reviews",route="empty",status_code="503",grpc_status="",error="no_endpoints",source_service="unknown",source_version="unknown",destination_service="empty",destination_version="unknown"\} 1/);
  expect(text).toMatch(/weft_proxy_retries_total\{direction="outbound",route="retry-other",reason="5xx"\} [1-9]/);
});
