/** Hand-built HTTP/2 frames (RFC 9113) and literal HPACK (RFC 7541) for bad-input tests. */
import * as net from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const TYPE = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const FLAG = { END_STREAM: 1, END_HEADERS: 4, ACK: 1 } as const;

/** One frame. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

function hpackInt(n: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (n < max) return Buffer.from([first | n]);
  const out = [first | max];
  n -= max;
  while (n >= 128) {
    out.push((n % 128) + 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A header block of literal-without-indexing fields with new names (no Huffman): any bytes allowed. */
export function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.flatMap(([n, v]) => {
    const nb = Buffer.from(n, 'latin1');
    const vb = Buffer.from(v, 'latin1');
    return [Buffer.from([0x00]), hpackInt(nb.length, 7), nb, hpackInt(vb.length, 7), vb];
  }));
}

/** A parsed frame received from the server. */
export interface Frame { readonly type: number; readonly flags: number; readonly streamId: number; readonly payload: Buffer }

/** Opens a raw h2c connection, sends `frames` after the preface + SETTINGS, collects frames until close or `waitMs`. */
export function exchange(port: number, frames: Buffer[], waitMs = 700): Promise<{ frames: Frame[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const got: Frame[] = [];
    let closed = false;
    const finish = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ frames: got, closed });
    };
    const timer = setTimeout(finish, waitMs);
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f = { type: buf[3], flags: buf[4], streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
        got.push(f);
        if (f.type === TYPE.SETTINGS && !(f.flags & FLAG.ACK)) s.write(frame(TYPE.SETTINGS, FLAG.ACK, 0));
        buf = buf.subarray(9 + len);
      }
    });
    s.write(Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0), ...frames]));
  });
}

/** A GET request HEADERS frame on `streamId` with extra fields. */
export function request(streamId: number, extra: [string, string][] = [], path = '/'): Buffer {
  const block = headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', path], [':authority', 'a.test'], ...extra]);
  return frame(TYPE.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, streamId, block);
}
