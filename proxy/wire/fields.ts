/**
 * Header-block rules of `weft/1`, shared by the encoder and the decoder so a sidecar never emits
 * what its peer would refuse: lower-case token names, pseudo-fields first, values without controls
 * (CR/LF/NUL included), no connection-specific fields.
 */
import { WireError } from './frames';

/** 1 for bytes allowed in a (lower-case) field name: RFC 9110 tchar without upper case. */
const NAME_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_BYTE[c.charCodeAt(0)] = 1;

/** 1 for bytes allowed in a value: HTAB, SP, visible ASCII and obs-text (Node's own write check). */
const VALUE_BYTE = new Uint8Array(256);
VALUE_BYTE[9] = 1;
for (let b = 0x20; b <= 0xff; b++) if (b !== 0x7f) VALUE_BYTE[b] = 1;

/** Fields that describe one connection and never cross a hop (HTTP/2 forbids them too). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/** Checks a name given as a string; returns true for a pseudo-field. Throws WEFT_ERR_WIRE_BAD_HEADERS. */
export function checkName(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > 0xffff) throw bad(`field name of length ${n}`);
  const pseudo = name.charCodeAt(0) === 58; /* ':' */
  if (pseudo && n === 1) throw bad('empty pseudo-field name');
  for (let i = pseudo ? 1 : 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff || NAME_BYTE[c] !== 1) throw bad(`field name ${JSON.stringify(name)} is not a lower-case token`);
  }
  return pseudo;
}

/** Checks a name held in bytes `[start, end)`; returns true for a pseudo-field. */
export function checkNameBytes(buf: Uint8Array, start: number, end: number): boolean {
  if (end === start) throw bad('empty field name');
  const pseudo = buf[start] === 58;
  if (pseudo && end - start === 1) throw bad('empty pseudo-field name');
  for (let i = pseudo ? start + 1 : start; i < end; i++) {
    if (NAME_BYTE[buf[i]] !== 1) throw bad('field name is not a lower-case token');
  }
  return pseudo;
}

/** Checks a value given as a string (latin1 on the wire). */
export function checkValue(name: string, value: string): void {
  if (value.length > 0xffff) throw bad(`value of ${name} is longer than 65535 bytes`);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || VALUE_BYTE[c] !== 1) throw bad(`value of ${name} holds a control or non-latin1 character`);
  }
}

/** Checks a value held in bytes `[start, end)`. */
export function checkValueBytes(buf: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) if (VALUE_BYTE[buf[i]] !== 1) throw bad('field value holds a control character');
}

/** Refuses connection-specific fields (`te` only as `trailers`). */
export function checkNotConnectionSpecific(name: string, value: string): void {
  if (CONNECTION_SPECIFIC.has(name) || (name === 'te' && value !== 'trailers')) {
    throw bad(`connection-specific field ${name}`);
  }
}

function bad(message: string): WireError {
  return new WireError('WEFT_ERR_WIRE_BAD_HEADERS', message);
}
