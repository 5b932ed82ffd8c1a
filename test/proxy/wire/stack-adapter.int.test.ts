/**
 * weft/1 under the layer stacks' types, on real mTLS sockets: WeftEndpoint (an endpoint client
 * Handler) → weft/1 → serveWeftStream → a stack Handler; the peer identity, bodies and trailers
 * cross; a wrong identity fails closed; an older peer (ALPN h2 only) is served by the real
 * HTTP/2 endpoint client as fallback; a cancelled request aborts the server's signal.
 */
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { H2Endpoint } from '../../../proxy/http/client-h2';
import { spiffeIdOf } from '../../../proxy/http/peer';
import type { Handler, ProxyRequest } from '../../../proxy/stack/types';
import type { WeftSession } from '../../../proxy/wire/session';
import { serveWeftStream, WeftEndpoint } from '../../../proxy/wire/stack-adapter';
import { until } from '../../support/waiting';
import { CLIENT_ID, SERVER_ID, makePki, type Pki, weftServer } from './mtls';

let pki: Pki;
let server: Awaited<ReturnType<typeof weftServer>>;
const seen: ProxyRequest[] = [];
const aborted: string[] = [];

const app: Handler = async (req) => {
  seen.push(req);
  req.signal.addEventListener('abort', () => aborted.push(req.path));
  if (req.path === '/hang') return new Promise(() => undefined);
  let body = '';
  if (req.body) for await (const c of req.body) body += c;
  const t = await req.trailers;
  return {
    status: 201,
    headers: { 'x-peer': req.peer.identity ?? 'none', 'set-cookie': ['a=1', 'b=2'] },
    body: Readable.from([Buffer.from(`${req.method} ${req.authority}${req.path} ${body}`)]),
    trailers: Promise.resolve({ 'x-req-trailer': t?.['x-t'] ?? 'none' }),
  };
};

beforeAll(async () => {
  pki = await makePki();
  server = await weftServer(pki, {
    onStream: (s) => {
      const sock = (s.owner as WeftSession).socket as tls.TLSSocket;
      serveWeftStream(s, app, { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0, tls: true, identity: spiffeIdOf(sock.getPeerCertificate().subjectaltname) });
    },
  });
});
afterAll(() => server.close());

function endpoint(port: number, expectedIdentity = SERVER_ID): { ep: WeftEndpoint; h2: H2Endpoint } {
  const context = (): tls.SecureContext => tls.createSecureContext({ key: pki.client.keyPem, cert: pki.client.certPem, ca: pki.ca });
  const h2 = new H2Endpoint({ address: '127.0.0.1', port, tls: { context, expectedIdentity } });
  return { ep: new WeftEndpoint({ address: '127.0.0.1', port, tls: { context, expectedIdentity }, fallback: h2.handler }), h2 };
}

function request(path: string, body: string[] | null, trailers?: Record<string, string>, signal = new AbortController().signal, headers: Record<string, string> = { 'x-a': 'b' }): ProxyRequest {
  return {
    method: body ? 'POST' : 'GET', authority: 'svc.test', path, scheme: 'https',
    headers,
    body: body ? Readable.from(body.map((s) => Buffer.from(s))) : null,
    trailers: trailers ? Promise.resolve(trailers) : undefined,
    grpc: false, httpVersion: '1.1', peer: { address: '127.0.0.1', port: 1, tls: false }, signal, meta: new Map(),
  };
}

async function text(b: Readable | null): Promise<string> {
  let s = '';
  if (b) for await (const c of b) s += c;
  return s;
}

test('a ProxyRequest crosses weft/1: identity, body, trailers both ways, repeated headers', async () => {
  const { ep, h2 } = endpoint(server.port);
  // a hop-by-hop header a layer left in is not carried
  const res = await ep.handler(request('/x?y=1', ['hel', 'lo'], { 'x-t': 'tv' }, undefined, { 'x-a': 'b', connection: 'keep-alive' }));
  expect(res.status).toBe(201);
  expect(res.headers['x-peer']).toBe(CLIENT_ID);
  expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  expect(await text(res.body)).toBe('POST svc.test/x?y=1 hello');
  expect(await res.trailers).toEqual({ 'x-req-trailer': 'tv' });
  expect(seen[seen.length - 1].headers['connection']).toBeUndefined();
  const get = await ep.handler(request('/g', null));
  expect(await text(get.body)).toBe('GET svc.test/g ');
  expect(server.sessions.length).toBe(1); // one session, reused
  expect(ep.peerLacksWeft).toBe(false);
  ep.close();
  h2.close();
});

test('the served path is normalized as the HTTP servers do it: `\\` as `/`, dot segments removed; too many headers are refused with a coded answer', async () => {
  const { ep, h2 } = endpoint(server.port);
  const res = await ep.handler(request('/x/..\\admin?q=1', ['b']));
  expect(await text(res.body)).toBe('POST svc.test/admin?q=1 b');
  expect(seen[seen.length - 1].path).toBe('/admin?q=1');
  const before = seen.length;
  // 110 fields: within weft/1's own limit (128), over the HTTP servers' maxHeadersCount (100)
  const many = Object.fromEntries(Array.from({ length: 110 }, (_v, i) => [`x-h${i}`, 'v']));
  const bad = await ep.handler(request('/ok', ['body'], undefined, undefined, many));
  expect(bad.status).toBe(431);
  expect(bad.headers['weft-error']).toBe('headers_too_large');
  expect(seen.length).toBe(before); // never reached the handler
  // the session still serves after the refusal (the refused body's credit came back)
  expect((await ep.handler(request('/after', null))).status).toBe(201);
  ep.close();
  h2.close();
});

test('a peer with another SPIFFE identity fails closed (connect failure, nothing sent)', async () => {
  const before = seen.length;
  const { ep, h2 } = endpoint(server.port, 'spiffe://test.local/ns/default/sa/someone-else');
  await expect(ep.handler(request('/x', null))).rejects.toMatchObject({ code: 'WEFT_ERR_CONNECT_FAILURE' });
  expect(seen.length).toBe(before);
  h2.close();
});

test('an older peer (ALPN h2 only) is served through the HTTP/2 fallback', async () => {
  const old = http2.createSecureServer({ key: pki.server.keyPem, cert: pki.server.certPem, ca: pki.ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (req, res) => {
    res.writeHead(200, { 'x-served-by': 'h2' });
    res.end(`h2 ${req.url}`);
  });
  await new Promise<void>((r) => old.listen(0, '127.0.0.1', () => r()));
  const { ep, h2 } = endpoint((old.address() as AddressInfo).port);
  const res = await ep.handler(request('/old', null));
  expect(res.headers['x-served-by']).toBe('h2');
  expect(await text(res.body)).toBe('h2 /old');
  expect(ep.peerLacksWeft).toBe(true);
  h2.close();
  await new Promise<void>((r) => old.close(() => r()));
});

test('cancelling a request resets its stream and aborts the server-side signal', async () => {
  const { ep, h2 } = endpoint(server.port);
  const ac = new AbortController();
  const pending = ep.handler(request('/hang', null, undefined, ac.signal));
  await until(async () => seen.some((r) => r.path === '/hang'), 'the request to reach the app');
  ac.abort();
  await expect(pending).rejects.toMatchObject({ code: 'WEFT_ERR_CANCELLED' });
  await until(async () => aborted.includes('/hang'), 'the server-side abort');
  ep.close();
  h2.close();
});
