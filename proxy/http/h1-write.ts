/**
 * Writing a ProxyResponse to HTTP/1.1. A body that fails mid-way destroys the socket, so the
 * client sees an abrupt close without the final chunk — never a clean (truncated) end.
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { ProxyResponse } from '../stack/types';
import { HOP_BY_HOP } from './headers';

/**
 * Writes `resp` to `res`; `close` adds `connection: close` (drain, shed, bad request). The head goes
 * out as one flat `[name, value, …]` list through `writeHead` (no per-header `setHeader` map), and
 * the body through a small pump rather than `pipe()`: both were measurable per request.
 */
export function writeH1Response(res: http.ServerResponse, resp: ProxyResponse, close: boolean): void {
  const body = resp.body;
  if (res.destroyed) {
    body?.destroy();
    return;
  }
  const h = resp.headers;
  const head: string[] = [];
  let hasLength = false;
  for (const k in h) {
    if (k.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(k)) continue; // HOP_BY_HOP holds 'connection'
    if (k === 'content-length') hasLength = true;
    const v = h[k];
    if (typeof v === 'string') head.push(k, v);
    else for (const one of v) head.push(k, one);
  }
  if (close || h['connection'] === 'close') head.push('connection', 'close');
  const trailers = resp.trailers;
  try {
    res.writeHead(resp.status, head);
  } catch {
    // a value Node refuses to write (e.g. from a header mutation): never a crash, never a half-written head
    body?.destroy();
    res.destroy();
    return;
  }
  if (!body) return void finish(res, trailers, hasLength);
  res.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.on('error', (err) => res.destroy(err));
  body.on('end', () => finish(res, trailers, hasLength));
  body.on('data', (chunk: Buffer) => {
    if (!res.destroyed && !res.write(chunk)) body.pause();
  });
  res.on('drain', () => body.resume());
}

/** Ends the response, after its trailers when the upstream sent some (chunked responses only). */
function finish(res: http.ServerResponse, trailers: ProxyResponse['trailers'], hasLength: boolean): void {
  if (!trailers) return void res.end();
  void trailers.catch(() => undefined).then((t) => {
    if (t && !hasLength) {
      const clean: Record<string, string | string[]> = {};
      for (const k in t) if (k.charCodeAt(0) !== 58) clean[k] = t[k];
      res.addTrailers(clean as Record<string, string>);
    }
    res.end();
  });
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
