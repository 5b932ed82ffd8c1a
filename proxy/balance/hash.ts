/** MurmurHash3 (x86, 32-bit): a fast, well-spread hash for ring points and request keys. */

/** 32-bit murmur3 of `key` (UTF-8), as an unsigned integer. */
export function murmur3(key: string, seed = 0): number {
  const data = Buffer.from(key, 'utf8');
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const blocks = data.length >> 2;
  for (let i = 0; i < blocks; i++) {
    let k = data.readUInt32LE(i * 4);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rem = data.length & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= data[tail + 2] << 16;
    if (rem >= 2) k ^= data[tail + 1] << 8;
    k ^= data[tail];
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
