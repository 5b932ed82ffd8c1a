/**
 * The simulated sidecar on Node's HTTP/2 directly (gRPC framing by hand) instead of grpc-js: the same
 * requests and ACKs on the wire, but each response is scanned as it streams in (version, type and
 * nonce kept; resources skipped, or kept by reference for CDS) without joining it into one buffer, so
 * 1,000 clients in one process cost less than the control plane they measure. `--sim grpc` runs
 * sim-client.ts (grpc-js) instead.
 */
import * as http2 from 'http2';
import { encodeResource, XdsObject } from '../../api/xds/codec';
import { PATH, REQ, SimAdsClient } from './sim-client';


/** Incremental reader of the top-level fields of gRPC-framed DiscoveryResponses. */
class ResponseScanner {
  private header: number[] = [];
  private remaining = -1; // bytes left in the current message; -1 while reading the 5-byte prefix
  private inPayload = false;
  private readingLen = false;
  private varint = 0;
  private mul = 1;
  private field = 0;
  private left = 0;
  private pieces: Buffer[] = [];
  private msg = { version_info: '', type_url: '', nonce: '', resources: [] as Buffer[][] };

  constructor(private readonly onMessage: (m: { version_info: string; type_url: string; nonce: string; resources: Buffer[][] }, size: number) => void) {}

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.remaining < 0) {
        this.header.push(chunk[pos++]);
        if (this.header.length === 5) {
          this.remaining = ((this.header[1] << 24) >>> 0) + (this.header[2] << 16) + (this.header[3] << 8) + this.header[4];
          this.size = this.remaining;
          this.header = [];
          if (this.remaining === 0) this.finish();
        }
        continue;
      }
      if (!this.inPayload) {
        const b = chunk[pos++];
        this.remaining--;
        this.varint += (b & 0x7f) * this.mul;
        this.mul *= 128;
        if (b < 0x80) {
          const v = this.varint;
          this.varint = 0;
          this.mul = 1;
          if (!this.readingLen) {
            if (v % 8 !== 2) throw new Error(`unexpected wire type ${v % 8} in a DiscoveryResponse`);
            this.field = Math.floor(v / 8);
            this.readingLen = true;
          } else {
            this.readingLen = false;
            this.left = v;
            this.pieces = [];
            if (v === 0) this.endField();
            else this.inPayload = true;
          }
        }
      } else {
        const n = Math.min(this.left, chunk.length - pos);
        this.pieces.push(chunk.subarray(pos, pos + n));
        pos += n;
        this.left -= n;
        this.remaining -= n;
        if (this.left === 0) { this.inPayload = false; this.endField(); }
      }
      if (this.remaining === 0) this.finish();
    }
  }

  private size = 0;

  private endField(): void {
    const text = () => (this.pieces.length === 1 ? this.pieces[0].toString('utf8') : Buffer.concat(this.pieces).toString('utf8'));
    if (this.field === 1) this.msg.version_info = text();
    else if (this.field === 4) this.msg.type_url = text();
    else if (this.field === 5) this.msg.nonce = text();
    else if (this.field === 2) this.msg.resources.push(this.pieces); // references into the chunks, no copy
    this.pieces = [];
  }

  private finish(): void {
    const m = this.msg;
    this.msg = { version_info: '', type_url: '', nonce: '', resources: [] };
    this.remaining = -1;
    this.onMessage(m, this.size);
  }
}

/** One simulated sidecar over a raw HTTP/2 session. */
export class SimClientH2 extends SimAdsClient {
  private readonly stream: http2.ClientHttp2Stream;

  constructor(session: http2.ClientHttp2Session, readonly id: string, service: string) {
    super();
    this.stream = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers' });
    const scanner = new ResponseScanner((m, size) => {
      this.bytes += size;
      this.onResponse(m, () => m.resources.map((p) => (p.length === 1 ? p[0] : Buffer.concat(p))));
    });
    this.stream.on('data', (c: Buffer) => scanner.push(c));
    this.stream.on('error', () => undefined);
    this.subscribe(id, service);
  }

  protected send(req: XdsObject): void {
    const body = encodeResource(REQ, req);
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    this.stream.write(frame);
  }

  close(): void {
    this.stream.end();
  }
}
