/** Helpers for the proxy integration tests: real servers on 127.0.0.1:0, raw sockets, body collection. */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

/** Listens on 127.0.0.1:0 and resolves the port. */
export function listen(server: net.Server | http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** Closes a server, destroying its open connections. */
export function closeServer(server: http.Server | net.Server | http2.Http2Server): Promise<void> {
  (server as http.Server).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Reads a stream to a string. */
export async function text(body: Readable | null | undefined): Promise<string> {
  if (!body) return '';
  let s = '';
  for await (const c of body) s += c;
  return s;
}

/** Sends raw bytes and resolves with everything received until the server closes (or `waitMs`). */
export function raw(port: number, data: string | Buffer, waitMs = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    let closed = false;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text: out, closed });
    }, waitMs);
    s.on('data', (c) => (out += c));
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ text: out, closed });
    });
    s.write(data);
  });
}

/** An HTTP/1.1 request through a given agent; resolves status, headers, body. */
export function get(port: number, opts: http.RequestOptions & { body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; trailers: NodeJS.Dict<string> }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, ...opts }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, trailers: res.trailers }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(opts.body);
  });
}

/** One HTTP/2 request on a session. */
export function h2get(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ headers: http2.IncomingHttpHeaders; body: string; trailers?: http2.IncomingHttpHeaders; rstCode?: number }> {
  return new Promise((resolve, reject) => {
    const st = session.request(headers, { endStream: body === undefined });
    let h: http2.IncomingHttpHeaders = {};
    let t: http2.IncomingHttpHeaders | undefined;
    let b = '';
    st.on('response', (x) => (h = x));
    st.on('trailers', (x) => (t = x));
    st.on('data', (c) => (b += c));
    st.on('error', () => undefined);
    st.on('close', () => resolve({ headers: h, body: b, trailers: t, rstCode: st.rstCode }));
    st.on('aborted', () => undefined);
    if (body !== undefined) st.end(body);
    void reject;
  });
}
