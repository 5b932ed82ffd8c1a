/**
 * Protobuf base-128 varints, for the hand-written encoders and the fast request decoder that work
 * on raw bytes (shared responses, RouteConfiguration by parts) instead of protobufjs objects.
 */

/** Bytes a varint of `n` takes. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) { n = Math.floor(n / 128); len++; }
  return len;
}

/** Writes `n` at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) { buf[pos++] = (n % 128) | 0x80; n = Math.floor(n / 128); }
  buf[pos++] = n;
  return pos;
}

/** [value, next position] of the varint at `pos`, or undefined if it is truncated or longer than 8 bytes. */
export function readVarint(b: Uint8Array, pos: number): [number, number] | undefined {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 8 && pos < b.length; i++) {
    const x = b[pos++];
    n += (x & 0x7f) * mul;
    if (x < 0x80) return [n, pos];
    mul *= 128;
  }
  return undefined;
}
