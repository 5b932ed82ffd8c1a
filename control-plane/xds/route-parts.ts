/**
 * A RouteConfiguration encoded by parts: each VirtualHost is encoded once and its bytes reused by
 * content, so a change to one service re-encodes one virtual host instead of all 1,000. Byte-equal to
 * the strict codec (protobufjs writes fields by number and a repeated message field as one
 * length-delimited record per element), and anything the parts path rejects goes to the whole encoder.
 */
import { encodeResource, XdsObject } from '../../api/xds/codec';
import { ROUTE } from '../../api/xds/protos';
import { ContentCache, contentKey } from './content-cache';
import { readVarint, varintLength, writeVarint } from './varint';

const VIRTUAL_HOST = 'type.googleapis.com/envoy.config.route.v3.VirtualHost';
/** RouteConfiguration.virtual_hosts is field 2 (wire type 2): tag byte 0x12. */
const VHOSTS_FIELD = 2;
const VHOSTS_TAG = 0x12;

function isPlainObject(v: unknown): v is XdsObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** readVarint that throws: the bytes are protobufjs output, so a bad varint is a bug, not input. */
function varintAt(b: Uint8Array, pos: number): [number, number] {
  const v = readVarint(b, pos);
  if (!v) throw new Error('truncated varint');
  return v;
}

/**
 * Offset of the first top-level field numbered above `field` in protobufjs output (fields come in
 * number order), i.e. where the records of `field` would be inserted.
 */
export function splitAfterField(b: Uint8Array, field: number): number {
  let pos = 0;
  while (pos < b.length) {
    const [tag, p] = varintAt(b, pos);
    if (Math.floor(tag / 8) > field) return pos;
    const wire = tag % 8;
    if (wire === 0) pos = varintAt(b, p)[1];
    else if (wire === 1) pos = p + 8;
    else if (wire === 5) pos = p + 4;
    else if (wire === 2) { const [len, q] = varintAt(b, p); pos = q + len; }
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return b.length;
}

/** Encoded VirtualHosts by name and JSON, current and previous generation (like the EncodeCache). */
export class VirtualHostCache {
  private readonly cache = new ContentCache<Buffer>();
  /** VirtualHosts encoded (cache misses) since construction; for tests and benchmarks. */
  encodes = 0;

  /** Bytes of `vh` (strict); throws the codec's error for an invalid one. */
  bytes(vh: XdsObject): Buffer {
    return this.cache.get(String(vh.name), contentKey(JSON.stringify(vh)), () => {
      const b = encodeResource(VIRTUAL_HOST, vh);
      this.encodes++;
      return b;
    });
  }

  /** Starts a new generation; virtual hosts unused for two generations are dropped. */
  rotate(): void {
    this.cache.rotate();
  }
}

/**
 * encodeResource(ROUTE, rc), with the virtual hosts from `vhosts`. Any problem on the parts path
 * (invalid virtual host or field, odd shape) re-encodes the whole resource strictly, so errors are
 * exactly the codec's (same code, same problem list).
 */
export function encodeRouteConfiguration(rc: XdsObject, vhosts: VirtualHostCache): Buffer {
  const list = rc.virtual_hosts;
  if (!isPlainObject(rc) || !Array.isArray(list) || !list.every(isPlainObject)) return encodeResource(ROUTE, rc);
  let parts: Buffer[];
  let rest: Buffer;
  try {
    parts = list.map((vh) => vhosts.bytes(vh));
    const others: XdsObject = { ...rc };
    delete others.virtual_hosts;
    rest = encodeResource(ROUTE, others);
  } catch {
    return encodeResource(ROUTE, rc);
  }
  const split = splitAfterField(rest, VHOSTS_FIELD);
  let total = rest.length;
  for (const p of parts) total += 1 + varintLength(p.length) + p.length;
  const out = Buffer.allocUnsafe(total);
  let pos = rest.copy(out, 0, 0, split);
  for (const p of parts) {
    out[pos++] = VHOSTS_TAG;
    pos = writeVarint(out, pos, p.length);
    pos += p.copy(out, pos);
  }
  rest.copy(out, pos, split);
  return out;
}
