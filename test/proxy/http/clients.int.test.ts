/** Endpoint clients refuse to emit header injection and fail fast with typed errors. */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { H1Endpoint } from '../../../proxy/http/client-h1';
import { H2Endpoint } from '../../../proxy/http/client-h2';
import { ProxyError } from '../../../proxy/http/errors';
import type { ProxyRequest } from '../../../proxy/stack/types';
import { closeServer, listen } from './util';

function req(headers: Record<string, string>, extra: Partial<ProxyRequest> = {}): ProxyRequest {
  return {
    method: 'GET', authority: 'svc', path: '/', scheme: 'http', headers, body: null, grpc: false, httpVersion: '1.1',
    peer: { address: '127.0.0.1', port: 1, tls: false }, signal: new AbortController().signal, meta: new Map(), ...extra,
  };
}

let h1: http.Server;
let h2: http2.Http2Server;
let h1Port: number;
let h2Port: number;
let h1Hits = 0;
let h2Hits = 0;

beforeAll(async () => {
  h1 = http.createServer((_q, s) => {
    h1Hits++;
    s.end('ok');
  });
  h2 = http2.createServer();
  h2.on('stream', (s) => {
    h2Hits++;
    s.respond({ ':status': 200 });
    s.end('ok');
  });
  h1Port = await listen(h1);
  h2Port = await listen(h2);
});
afterAll(async () => {
  await closeServer(h1);
  await closeServer(h2);
});

test.each([['CR LF', 'a\r\nx-injected: 1'], ['NUL', 'a\u0000']])('HTTP/1.1 client: a %s header value is refused (400 bad_header), never sent', async (_n, v) => {
  const ep = new H1Endpoint({ address: '127.0.0.1', port: h1Port });
  const before = h1Hits;
  const err = await ep.handler(req({ 'x-evil': v })).catch((e: unknown) => e);
  expect(ProxyError.isProxyError(err) && err.status).toBe(400);
  expect((err as ProxyError).code).toBe('WEFT_ERR_BAD_HEADER');
  expect(h1Hits).toBe(before);
  ep.close();
});

test('HTTP/2 client: a CR LF header value is refused, never sent', async () => {
  const ep = new H2Endpoint({ address: '127.0.0.1', port: h2Port });
  const before = h2Hits;
  const err = await ep.handler(req({ 'x-evil': 'a\r\nb' })).catch((e: unknown) => e);
  expect((err as ProxyError).code).toBe('WEFT_ERR_BAD_HEADER');
  expect(h2Hits).toBe(before);
  const ok = await ep.handler(req({}, { body: null }));
  expect(ok.status).toBe(200);
  ok.body?.resume();
  ep.close();
});

test('connection refused is a connect_failure (safe to retry) for both clients', async () => {
  const dead = net.createServer();
  const port = await listen(dead);
  await closeServer(dead);
  for (const ep of [new H1Endpoint({ address: '127.0.0.1', port }), new H2Endpoint({ address: '127.0.0.1', port })]) {
    const err = await ep.handler(req({}, { body: Readable.from([]) })).catch((e: unknown) => e);
    expect((err as ProxyError).code).toBe('WEFT_ERR_CONNECT_FAILURE');
    ep.close();
  }
});
