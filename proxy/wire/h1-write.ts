/**
 * HTTP/1.1 serialization for the lean engine's app legs: request and response heads as one
 * latin1 buffer, chunk framing and the last chunk with trailers. Refuses (WEFT_ERR_H1_BAD_HEADER)
 * any name that is not a token and any value with CR, LF, NUL or another control, so a value from
 * another protocol can never be re-framed as a header here.
 */
import { H1Error } from './h1-head';

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE_RE = /[^\t\x20-\x7e\x80-\xff]/;
/** Fields a trailer section must not carry (RFC 9110 §6.5.1; as forwardableTrailers in proxy/http). */
const TRAILER_FORBIDDEN = new Set(['transfer-encoding', 'content-length', 'host', 'trailer', 'te', 'connection', 'keep-alive', 'upgrade']);

export const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

function fieldLines(fields: readonly string[], trailers: boolean): string {
  let s = '';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    if (!TOKEN_RE.test(name)) throw new H1Error('WEFT_ERR_H1_BAD_HEADER', `header name ${JSON.stringify(name)} is not a token`);
    if (value === undefined || BAD_VALUE_RE.test(value)) throw new H1Error('WEFT_ERR_H1_BAD_HEADER', `header ${name} holds CR, LF, NUL or another control`);
    if (trailers && TRAILER_FORBIDDEN.has(name.toLowerCase())) continue;
    s += `${name}: ${value}\r\n`;
  }
  return s;
}

/** `METHOD target HTTP/1.1` + fields + CRLF. The caller puts the framing field (content-length or transfer-encoding) in `fields`. */
export function requestHead(method: string, target: string, fields: readonly string[]): Buffer {
  if (!TOKEN_RE.test(method)) throw new H1Error('WEFT_ERR_H1_BAD_START_LINE', `method ${JSON.stringify(method)} is not a token`);
  if (!/^[\x21-\x7e]+$/.test(target)) throw new H1Error('WEFT_ERR_H1_BAD_START_LINE', 'request target holds spaces or controls');
  return Buffer.from(`${method} ${target} HTTP/1.1\r\n${fieldLines(fields, false)}\r\n`, 'latin1');
}

/** `HTTP/1.1 status reason` + fields + CRLF. */
export function responseHead(status: number, reason: string, fields: readonly string[]): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new H1Error('WEFT_ERR_H1_BAD_START_LINE', `status ${status}`);
  if (BAD_VALUE_RE.test(reason)) throw new H1Error('WEFT_ERR_H1_BAD_START_LINE', 'reason phrase holds a control character');
  return Buffer.from(`HTTP/1.1 ${status} ${reason}\r\n${fieldLines(fields, false)}\r\n`, 'latin1');
}

/** The size line of one chunk of `length` bytes (write it, the data, then CRLF). Empty data needs no chunk. */
export function chunkHead(length: number): Buffer {
  return Buffer.from(`${length.toString(16)}\r\n`, 'latin1');
}

/** The last chunk with an optional trailer section; framing fields are left out of trailers. */
export function lastChunk(trailers?: readonly string[]): Buffer {
  if (!trailers || trailers.length === 0) return LAST_CHUNK;
  return Buffer.from(`0\r\n${fieldLines(trailers, true)}\r\n`, 'latin1');
}

/**
 * Writes one body chunk, framed as a chunk when `chunked` (one corked write of head, bytes and CRLF).
 * Returns the socket's answer: false means wait for 'drain'. Shared by the client and server legs.
 */
export function writeBodyChunk(socket: { cork(): void; uncork(): void; write(b: Buffer): boolean }, chunk: Buffer, chunked: boolean): boolean {
  if (!chunked) return socket.write(chunk);
  socket.cork();
  socket.write(chunkHead(chunk.length));
  socket.write(chunk);
  const ok = socket.write(CRLF);
  socket.uncork();
  return ok;
}
