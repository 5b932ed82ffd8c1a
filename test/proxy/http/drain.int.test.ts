/** Graceful drain of a listener: in-flight requests finish, HTTP/2 sessions get GOAWAY, new connections are refused. */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { ProxyServer } from '../../../proxy/http/server';
import { get } from './util';

function slowServer(): { server: ProxyServer; started: Promise<void> } {
  let started!: () => void;
  const p = new Promise<void>((r) => (started = r));
  const server = new ProxyServer({
    handler: async () => {
      started();
      await new Promise((r) => setTimeout(r, 300));
      return { status: 200, headers: {}, body: Readable.from([Buffer.from('done')]) };
    },
  });
  return { server, started: p };
}

test('HTTP/1.1: the in-flight request completes with connection: close; then the port is closed', async () => {
  const { server, started } = slowServer();
  const port = (await server.listen(0)).port;
  const agent = new http.Agent({ keepAlive: true });
  const inflight = get(port, { path: '/', agent });
  await started;
  const drained = server.drain(5000);
  const r = await inflight;
  expect(r.status).toBe(200);
  expect(r.body).toBe('done');
  expect(r.headers.connection).toBe('close');
  await drained;
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
  expect(refused).toBe(true);
  agent.destroy();
});

test('HTTP/2: the session gets GOAWAY and its open stream still completes', async () => {
  const { server, started } = slowServer();
  const port = (await server.listen(0)).port;
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const goaway = new Promise<void>((r) => session.once('goaway', () => r()));
  const st = session.request({ ':path': '/' });
  let body = '';
  st.on('data', (d) => (body += d));
  const ended = new Promise<void>((r) => st.on('end', () => r()));
  await started;
  const drained = server.drain(5000);
  await goaway;
  await ended;
  expect(body).toBe('done');
  await drained;
  session.destroy();
});

test('drain timeout: a connection still busy at the deadline is destroyed', async () => {
  let arrived!: () => void;
  const started = new Promise<void>((r) => (arrived = r));
  const server = new ProxyServer({
    handler: () => {
      arrived();
      return new Promise(() => undefined);
    },
  });
  const port = (await server.listen(0)).port;
  const outcome = new Promise<string>((resolve) => {
    const r = http.get({ host: '127.0.0.1', port, path: '/' }, () => resolve('response'));
    r.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  await started;
  await server.drain(200);
  expect(await outcome).toBe('ECONNRESET');
});
