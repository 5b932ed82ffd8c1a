/** HTTP/1.1 through the proxy server + pooled endpoint client, against a real upstream. */
import * as http from 'node:http';
import * as net from 'node:net';
import { ProxyServer } from '../../../proxy/http/server';
import { H1Endpoint } from '../../../proxy/http/client-h1';
import { closeServer, get, listen, raw } from './util';

let app: http.Server;
let appPort: number;
let appConnections = 0;
let proxy: ProxyServer;
let proxyPort: number;
let endpoint: H1Endpoint;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  app = http.createServer((req, res) => {
    if (req.url === '/reset') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (req.url === '/chunked') {
      res.write('a');
      res.write('b');
      res.end('c');
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, body, expect: req.headers.expect ?? null, te: req.headers['transfer-encoding'] ?? null })));
  });
  app.on('connection', (sock: net.Socket) => {
    appConnections++;
    sockets.add(sock);
  });
  app.on('upgrade', (req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(`echo:${d}`));
  });
  appPort = await listen(app);
  endpoint = new H1Endpoint({ address: '127.0.0.1', port: appPort });
  proxy = new ProxyServer({ handler: endpoint.handler });
  proxyPort = (await proxy.listen(0)).port;
});

afterAll(async () => {
  await proxy.close();
  endpoint.close();
  for (const s of sockets) s.destroy();
  await closeServer(app);
});

test('keep-alive: many requests reuse pooled upstream connections', async () => {
  // GIVEN a keep-alive downstream agent
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const before = appConnections;
  // WHEN five requests go through the proxy in sequence
  for (let i = 0; i < 5; i++) {
    const r = await get(proxyPort, { path: `/n/${i}`, agent, headers: { host: 'svc.test' } });
    expect(JSON.parse(r.body)).toMatchObject({ url: `/n/${i}`, host: 'svc.test' });
  }
  // THEN the upstream saw one connection
  expect(appConnections - before).toBe(1);
  agent.destroy();
});

test('chunked request and response bodies stream through', async () => {
  const r = await get(proxyPort, { path: '/chunked' });
  expect(r.body).toBe('abc');
  const post = await raw(proxyPort, 'POST /echo HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
  expect(post.text).toMatch(/^HTTP\/1.1 200/);
  expect(post.text).toContain('"body":"abcde"');
});

test('100-continue is answered by the proxy and the body then forwarded (Envoy default)', async () => {
  const res = await new Promise<string>((resolve) => {
    const s = net.connect(proxyPort, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d;
      if (out.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !out.includes('200')) s.write('hello');
      if (out.includes('"body"')) {
        s.destroy();
        resolve(out);
      }
    });
    s.write('POST /c HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n');
  });
  expect(res).toMatch(/^HTTP\/1.1 100 Continue/);
  expect(res).toContain('"body":"hello"');
  expect(res).toContain('"expect":null');
});

test('Upgrade (WebSocket-style) is passed through as a byte stream', async () => {
  const out = await new Promise<string>((resolve) => {
    const s = net.connect(proxyPort, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d;
      if (got.includes('\r\n\r\n') && !got.includes('echo:')) s.write('ping');
      if (got.includes('echo:ping')) {
        s.destroy();
        resolve(got);
      }
    });
    s.write('GET /ws HTTP/1.1\r\nhost: a\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
  });
  expect(out).toMatch(/^HTTP\/1.1 101/);
  expect(out.toLowerCase()).toContain('upgrade: echo');
  expect(out).toContain('echo:ping');
});

test('upstream reset mid-body: downstream sees an abrupt close, never a clean end', async () => {
  const r = await raw(proxyPort, 'GET /reset HTTP/1.1\r\nhost: a\r\n\r\n');
  expect(r.text).toMatch(/^HTTP\/1.1 200/);
  expect(r.text).toContain('partial');
  expect(r.closed).toBe(true);
  expect(r.text.endsWith('0\r\n\r\n')).toBe(false);
});

test('connection refused: 502 with a weft-error connect_failure reason', async () => {
  const dead = net.createServer();
  const port = await listen(dead);
  await closeServer(dead);
  const ep = new H1Endpoint({ address: '127.0.0.1', port });
  const p = new ProxyServer({ handler: ep.handler });
  const pp = (await p.listen(0)).port;
  const r = await get(pp, { path: '/' });
  expect(r.status).toBe(502);
  expect(String(r.headers['weft-error'])).toMatch(/^connect_failure endpoint=127.0.0.1:/);
  await p.close();
  ep.close();
});

test('absolute-form target (explicit HTTP proxy) routes on the URI authority', async () => {
  let seen = '';
  const p = new ProxyServer({ handler: async (req) => { seen = `${req.authority} ${req.path}`; return { status: 204, headers: {}, body: null }; } });
  const pp = (await p.listen(0)).port;
  const r = await raw(pp, 'GET http://Svc.NS:8080/a//b HTTP/1.1\r\nhost: ignored\r\nconnection: close\r\n\r\n');
  expect(r.text).toMatch(/^HTTP\/1.1 204/);
  expect(seen).toBe('svc.ns:8080 /a/b');
  await p.close();
});

test('Upgrade: h2c is ignored (RFC 9113): the request is served as HTTP/1.1', async () => {
  const r = await raw(proxyPort, 'GET /h2c HTTP/1.1\r\nhost: a\r\nconnection: upgrade, http2-settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAAQAAP__\r\n\r\n');
  expect(r.text).toMatch(/^HTTP\/1.1 200/);
  expect(r.text).toContain('"url":"/h2c"');
});
