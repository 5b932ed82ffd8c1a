/** Large response bodies keep their bytes and order through the HTTP/1.1 and HTTP/2 response pumps (backpressure). */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { ProxyServer } from '../../../proxy/http/server';
import { H1Endpoint } from '../../../proxy/http/client-h1';
import { closeServer, listen } from './util';

const BODY = randomBytes(6 * 1024 * 1024);
const DIGEST = createHash('sha256').update(BODY).digest('hex');

let app: http.Server;
let proxy: ProxyServer;
let ep: H1Endpoint;
let port: number;

beforeAll(async () => {
  app = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    // many writes, so the proxy sees many chunks and its downstream fills up
    for (let i = 0; i < BODY.length; i += 16 * 1024) res.write(BODY.subarray(i, i + 16 * 1024));
    res.end();
  });
  ep = new H1Endpoint({ address: '127.0.0.1', port: await listen(app) });
  proxy = new ProxyServer({ handler: ep.handler });
  port = (await proxy.listen(0)).port;
});

afterAll(async () => {
  await proxy.close();
  ep.close();
  await closeServer(app);
});

test('HTTP/1.1: a slow reader gets every byte in order', async () => {
  const digest = await new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/big', headers: { host: 'app' } }, (res) => {
      const h = createHash('sha256');
      let n = 0;
      res.on('data', (c: Buffer) => {
        h.update(c);
        // pause now and then, so the proxy's socket buffer fills and its pump must wait for drain
        if (++n % 64 === 0) {
          res.pause();
          setImmediate(() => res.resume());
        }
      });
      res.on('end', () => resolve(h.digest('hex')));
      res.on('error', reject);
    }).on('error', reject);
  });
  expect(digest).toBe(DIGEST);
});

test('HTTP/2: a slow reader gets every byte in order', async () => {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const digest = await new Promise<string>((resolve, reject) => {
    const st = session.request({ ':path': '/big', ':authority': 'app' });
    const h = createHash('sha256');
    let n = 0;
    st.on('data', (c: Buffer) => {
      h.update(c);
      if (++n % 64 === 0) {
        st.pause();
        setImmediate(() => st.resume());
      }
    });
    st.on('end', () => resolve(h.digest('hex')));
    st.on('error', reject);
  });
  session.close();
  expect(digest).toBe(DIGEST);
});
