/**
 * The `weft up` ingress as a sidecar-grade listener (issue 12 item 5, F2): origin-form only (an
 * absolute-form target never picks another service), the sidecar's path rules, framing checks and
 * timeouts. The upstream here is a real HTTP server on the port the ingress forwards to (where the
 * ingress sidecar's outbound listener is under `weft up`), recording exactly what arrives.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startIngress, type Ingress } from '../../../cli/up/ingress';
import { raw } from '../../proxy/http/util';

const arrived: { url: string; headers: http.IncomingHttpHeaders }[] = [];
let upstream: http.Server;
let upstreamPort: number;
let ingress: Ingress;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    arrived.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    res.end('from upstream');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  ingress = await startIngress({ service: 'productpage', namespace: 'default', servicePort: 9080, listenPort: 0 }, () => upstreamPort, '127.0.0.1', { limits: { headersTimeoutMs: 500, connectionsCheckingIntervalMs: 100 } });
});
afterAll(async () => {
  await ingress.close(1000);
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});
beforeEach(() => {
  arrived.length = 0;
});

const status = (t: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(t)?.[1] ?? 0);

test('F2: an absolute-form target is reduced to origin-form and still goes to the exposed service only', async () => {
  const r = await raw(ingress.port, 'GET http://reviews.default:9080/reviews/1?x=1 HTTP/1.1\r\nhost: reviews.default:9080\r\nconnection: close\r\n\r\n');
  expect(status(r.text)).toBe(200);
  expect(arrived.map((a) => [a.url, a.headers.host])).toEqual([['/reviews/1?x=1', 'productpage.default:9080']]);
});

test('path rules of the sidecar: /x/..\\admin arrives as /admin, //a/./b as /a/b', async () => {
  await raw(ingress.port, 'GET /x/..\\admin HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
  await raw(ingress.port, 'GET //a/./b HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
  expect(arrived.map((a) => a.url)).toEqual(['/admin', '/a/b']);
});

test('HTTP/1.0 with Transfer-Encoding → 400 and nothing forwarded', async () => {
  const r = await raw(ingress.port, 'POST / HTTP/1.0\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n');
  expect(status(r.text)).toBe(400);
  expect(arrived).toHaveLength(0);
});

test('gzip, chunked → 501 and nothing forwarded', async () => {
  const r = await raw(ingress.port, 'POST / HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n');
  expect(status(r.text)).toBe(501);
  expect(arrived).toHaveLength(0);
});

test('slow headers are cut at the headers timeout, not after a minute', async () => {
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(ingress.port, '127.0.0.1');
    s.on('error', () => undefined);
    s.resume(); // read the 408 and the FIN, or 'close' never comes
    const drip = setInterval(() => s.write('x-slow: 1\r\n'), 100);
    s.write('GET / HTTP/1.1\r\nhost: localhost\r\n');
    const guard = setTimeout(() => {
      clearInterval(drip);
      s.destroy();
      resolve(false);
    }, 8000);
    s.on('close', () => {
      clearInterval(drip);
      clearTimeout(guard);
      resolve(true);
    });
  });
  expect(closed).toBe(true);
  expect(arrived).toHaveLength(0);
});

test('client-sent x-forwarded-for and x-forwarded-client-cert are replaced / removed', async () => {
  const r = await raw(ingress.port, 'GET /h HTTP/1.1\r\nhost: localhost\r\nx-forwarded-for: 6.6.6.6\r\nx-forwarded-client-cert: URI=spiffe://x/ns/a/sa/b\r\nconnection: close\r\n\r\n');
  expect(status(r.text)).toBe(200);
  expect(arrived[0].headers['x-forwarded-for']).toBe('127.0.0.1');
  expect(arrived[0].headers['x-forwarded-client-cert']).toBeUndefined();
  expect(ingress.accepted()).toBeGreaterThan(0);
  expect(ingress.inFlight()).toBe(0);
});

test('an upstream that is down → 502 with a weft-error reason', async () => {
  const dead = await startIngress({ service: 'productpage', namespace: 'default', servicePort: 9080, listenPort: 0 }, () => 1, '127.0.0.1');
  try {
    const r = await raw(dead.port, 'GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    expect(status(r.text)).toBe(502);
    expect(r.text).toMatch(/weft-error: \S+/);
  } finally {
    await dead.close(100);
  }
});
