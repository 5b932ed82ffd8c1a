/**
 * Which pseudo-fields a `weft/1` head must carry: a request exactly `:method`, `:scheme`,
 * `:authority`, `:path`; a response exactly a three-digit `:status` (no 1xx: the sidecars answer
 * `100-continue` themselves). Checked on send and on receipt.
 */
import { WireError } from './frames';

const REQUEST_PSEUDO = [':method', ':scheme', ':authority', ':path'];

/** Throws WEFT_ERR_WIRE_BAD_HEADERS unless `fields` is a well-formed request head. */
export function checkRequestHead(fields: readonly string[]): void {
  let seen = 0;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (name.charCodeAt(0) !== 58) break;
    const k = REQUEST_PSEUDO.indexOf(name);
    if (k < 0) throw bad(`pseudo-field ${name} in a request`);
    if (seen & (1 << k)) throw bad(`pseudo-field ${name} twice`);
    if (fields[i + 1] === '') throw bad(`empty ${name}`);
    seen |= 1 << k;
  }
  if (seen !== 0b1111) throw bad('a request head needs :method, :scheme, :authority and :path');
}

/** Throws WEFT_ERR_WIRE_BAD_HEADERS unless `fields` starts with one final `:status` and no other pseudo-field. */
export function checkResponseHead(fields: readonly string[]): void {
  if (fields[0] !== ':status' || !/^[2-9]\d\d$/.test(fields[1] ?? '')) throw bad('a response head starts with a final three-digit :status');
  for (let i = 2; i < fields.length; i += 2) if (fields[i].charCodeAt(0) === 58) throw bad(`pseudo-field ${fields[i]} in a response`);
}

function bad(message: string): WireError {
  return new WireError('WEFT_ERR_WIRE_BAD_HEADERS', message);
}
