/**
 * Writing a ProxyResponse to HTTP/1.1. A body that fails mid-way destroys the socket, so the
 * client sees an abrupt close without the final chunk — never a clean (truncated) end.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { ProxyResponse } from '../stack/types';
import { HOP_BY_HOP } from './headers';

function setHeaders(res: http.ServerResponse, resp: ProxyResponse): void {
  const h = resp.headers;
  for (const k in h) {
    if (k.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(k)) continue; // HOP_BY_HOP holds 'connection'
    res.setHeader(k, h[k]);
  }
}

/** Writes `resp` to `res`; `close` adds `connection: close` (drain, shed, bad request). */
export async function writeH1Response(res: http.ServerResponse, resp: ProxyResponse, close: boolean): Promise<void> {
  if (res.destroyed) {
    resp.body?.destroy();
    return;
  }
  setHeaders(res, resp);
  if (close || resp.headers['connection'] === 'close') res.setHeader('connection', 'close');
  const trailers = resp.trailers;
  res.writeHead(resp.status);
  const finish = async (): Promise<void> => {
    const t = trailers ? await trailers.catch(() => undefined) : undefined;
    if (t && !res.hasHeader('content-length')) res.addTrailers(Object.fromEntries(Object.entries(t).filter(([k]) => !k.startsWith(':'))) as Record<string, string>);
    res.end();
  };
  const body = resp.body;
  if (!body) return finish();
  res.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.on('error', (err) => res.destroy(err));
  body.on('end', () => void finish());
  body.pipe(res, { end: false });
}

function headLines(resp: ProxyResponse, extra: string): string {
  let head = `HTTP/1.1 ${resp.status} ${STATUS_CODES[resp.status] ?? ''}\r\n`;
  for (const [k, v] of Object.entries(resp.headers)) {
    if (k.startsWith(':')) continue;
    for (const one of Array.isArray(v) ? v : [v]) head += `${k}: ${one}\r\n`;
  }
  return head + extra + '\r\n';
}

/**
 * Writes a response to an Upgrade request on the raw socket. A 101 keeps the socket and splices
 * it to the upstream's; anything else is written with `connection: close` and ends the socket.
 */
export function writeRawResponse(socket: Duplex, resp: ProxyResponse): void {
  if (socket.destroyed) {
    resp.body?.destroy();
    return;
  }
  if (resp.status === 101 && resp.body) {
    const up = resp.body as Duplex;
    socket.write(headLines(resp, ''));
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
    up.on('close', () => socket.destroy());
    up.pipe(socket);
    return;
  }
  const headers = { ...resp.headers };
  delete headers['connection'];
  delete headers['upgrade'];
  socket.write(headLines({ ...resp, headers }, 'connection: close\r\n'));
  if (!resp.body) {
    socket.end();
    return;
  }
  resp.body.on('error', () => socket.destroy());
  resp.body.pipe(socket);
}
