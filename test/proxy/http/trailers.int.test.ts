/** Request trailers cross the proxy: HTTP/2 → HTTP/2, chunked HTTP/1.1 → HTTP/1.1, HTTP/2 → chunked HTTP/1.1. */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { ProxyServer } from '../../../proxy/http/server';
import { H1Endpoint } from '../../../proxy/http/client-h1';
import { H2Endpoint } from '../../../proxy/http/client-h2';
import { closeServer, listen, raw } from './util';

interface Seen { body: string; trailers: Record<string, unknown> }

let h2App: http2.Http2Server;
let h1App: http.Server;
const proxies: ProxyServer[] = [];
const clients: { close(): void }[] = [];
let viaH2: number;
let viaH1: number;

beforeAll(async () => {
  // upstreams answer with the body and the trailers they received
  h2App = http2.createServer();
  h2App.on('stream', (stream, _headers) => {
    let body = '';
    let trailers: Record<string, unknown> = {};
    stream.on('trailers', (t) => (trailers = { ...t }));
    stream.on('data', (c) => (body += c));
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(JSON.stringify({ body, trailers }));
    });
  });
  h1App = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => res.end(JSON.stringify({ body, trailers: req.trailers })));
  });
  const [h2Port, h1Port] = [await listen(h2App), await listen(h1App)];
  const h2 = new H2Endpoint({ address: '127.0.0.1', port: h2Port });
  const h1 = new H1Endpoint({ address: '127.0.0.1', port: h1Port });
  clients.push(h2, h1);
  const toH2 = new ProxyServer({ handler: h2.handler });
  const toH1 = new ProxyServer({ handler: h1.handler });
  proxies.push(toH2, toH1);
  viaH2 = (await toH2.listen(0)).port;
  viaH1 = (await toH1.listen(0)).port;
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const c of clients) c.close();
  await closeServer(h2App);
  await closeServer(h1App);
});

/** An HTTP/2 POST whose body is followed by `trailers`; resolves what the upstream saw. */
function h2Post(port: number, trailers: http2.OutgoingHttpHeaders): Promise<Seen> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  return new Promise<Seen>((resolve, reject) => {
    const st = session.request({ ':method': 'POST', ':path': '/t', ':authority': 'app' }, { waitForTrailers: true });
    st.on('wantTrailers', () => st.sendTrailers(trailers));
    let out = '';
    st.on('data', (c) => (out += c));
    st.on('end', () => {
      session.close();
      try {
        resolve(JSON.parse(out) as Seen);
      } catch (e) {
        reject(new Error(`not JSON: ${out} (${String(e)})`));
      }
    });
    st.on('error', reject);
    st.end('payload');
  });
}

test('HTTP/2 request trailers reach an HTTP/2 upstream', async () => {
  const seen = await h2Post(viaH2, { 'x-checksum': 'abc123' });
  expect(seen.body).toBe('payload');
  expect(seen.trailers['x-checksum']).toBe('abc123');
});

test('HTTP/2 request trailers reach an HTTP/1.1 upstream as a chunked trailer section; framing fields are not forwarded', async () => {
  const seen = await h2Post(viaH1, { 'x-checksum': 'def456', 'content-type': 'text/evil' });
  expect(seen.body).toBe('payload');
  expect(seen.trailers).toEqual({ 'x-checksum': 'def456' });
});

test('chunked HTTP/1.1 request trailers reach an HTTP/1.1 upstream', async () => {
  const req = 'POST /t HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\nConnection: close\r\n\r\n'
    + '7\r\npayload\r\n0\r\nx-checksum: ghi789\r\n\r\n';
  const res = await raw(viaH1, req);
  expect(res.text).toMatch(/^HTTP\/1\.1 200/);
  const seen = JSON.parse(res.text.slice(res.text.indexOf('{'), res.text.lastIndexOf('}') + 1)) as Seen;
  expect(seen.body).toBe('payload');
  expect(seen.trailers).toEqual({ 'x-checksum': 'ghi789' });
});

test('a request without trailers still completes over HTTP/2 (empty end of stream)', async () => {
  const session = http2.connect(`http://127.0.0.1:${viaH2}`);
  const out = await new Promise<string>((resolve, reject) => {
    const st = session.request({ ':method': 'POST', ':path': '/t', ':authority': 'app' });
    let b = '';
    st.on('data', (c) => (b += c));
    st.on('end', () => resolve(b));
    st.on('error', reject);
    st.end('plain');
  });
  session.close();
  expect(JSON.parse(out)).toEqual({ body: 'plain', trailers: {} });
});
