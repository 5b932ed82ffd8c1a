/**
 * The ADS wire: the gRPC service definition with our own (de)serializers, so resources go out as
 * pre-encoded bytes (shared across streams) and requests come in as the codec's object form; and node identification.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClientKind } from '../../api/translate';
import { decodeResource } from '../../api/xds/codec';
import type { Entry } from './snapshot';
import { readVarint, varintLength, writeVarint } from './varint';

const REQUEST = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';

/** A DiscoveryRequest in object form (only what the server reads). */
export interface DiscoveryRequest {
  readonly version_info?: string;
  readonly node?: { id?: string; cluster?: string; user_agent_name?: string; metadata?: Record<string, unknown>; locality?: unknown };
  readonly resource_names?: string[];
  readonly type_url?: string;
  readonly response_nonce?: string;
  readonly error_detail?: { code?: number; message?: string } | null;
}

/** A node with an open ADS stream, as the status API and the connect/disconnect hooks see it. */
export interface ConnectedNode {
  readonly streamId: number;
  readonly id: string;
  /** `sidecar` for user_agent_name "weft-proxy" with service/namespace metadata; `proxyless` otherwise. */
  readonly kind: 'sidecar' | 'proxyless';
  readonly userAgent: string;
  readonly service?: string;
  readonly namespace?: string;
  readonly version?: string;
  /** Self-registration: `node.metadata.endpoint` = `{ address, ports: { <port name>: <port> } }` of a sidecar. */
  readonly endpoint?: { readonly address: string; readonly ports: Readonly<Record<string, number>> };
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly connectedAt: string;
}

/** User agent a weft sidecar sets in `node.user_agent_name`. */
export const WEFT_PROXY_USER_AGENT = 'weft-proxy';

const str = (v: unknown) => (typeof v === 'string' && v.length ? v : undefined);

/** Tells a weft sidecar from a proxyless client by `node.user_agent_name` and `node.metadata`. */
export function identifyNode(streamId: number, req: DiscoveryRequest): { node: ConnectedNode; client: ClientKind } {
  const n = req.node ?? {};
  const md = (n.metadata ?? {}) as Record<string, unknown>;
  const service = str(md.service);
  const namespace = str(md.namespace) ?? (service ? 'default' : undefined);
  const version = str(md.version);
  const ep = md.endpoint as { address?: unknown; ports?: unknown } | undefined;
  const ports = ep && typeof ep.ports === 'object' && ep.ports ? Object.fromEntries(Object.entries(ep.ports as object).filter(([, v]) => typeof v === 'number')) as Record<string, number> : undefined;
  const endpoint = ep && typeof ep.address === 'string' && ports ? { address: ep.address, ports } : undefined;
  const sidecar = n.user_agent_name === WEFT_PROXY_USER_AGENT && service !== undefined;
  const node: ConnectedNode = {
    streamId, id: n.id ?? `anonymous-${streamId}`, kind: sidecar ? 'sidecar' : 'proxyless', userAgent: n.user_agent_name ?? '',
    service, namespace, version, endpoint, metadata: md, connectedAt: new Date().toISOString(),
  };
  const client: ClientKind = sidecar ? { kind: 'sidecar', node: { service: service!, namespace: namespace!, version: version ?? '' } } : { kind: 'proxyless' };
  return { node, client };
}

/** A whole encoded DiscoveryResponse queued for one stream (the bytes are often shared by many streams). */
export interface OutgoingResponse {
  readonly typeUrl: string;
  readonly version: string;
  readonly bytes: Buffer;
}

/** Field `tag` (wire type 2) holding `len` bytes: the bytes the tag and length take. */
const lenField = (len: number) => 1 + varintLength(len) + len;

/**
 * The `resources` field (2) of a DiscoveryResponse: one `google.protobuf.Any {type_url = 1,
 * value = 2}` per entry, written straight from the encoded entry bytes (no message objects).
 */
export function encodeResourcesBody(typeUrl: string, entries: readonly Entry[]): Buffer {
  const url = Buffer.from(typeUrl);
  const urlField = lenField(url.length);
  let total = 0;
  for (const e of entries) total += lenField(urlField + lenField(e.bytes.length));
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const e of entries) {
    const anyLen = urlField + lenField(e.bytes.length);
    out[pos++] = 0x12;
    pos = writeVarint(out, pos, anyLen);
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, url.length);
    pos += url.copy(out, pos);
    out[pos++] = 0x12;
    pos = writeVarint(out, pos, e.bytes.length);
    pos += Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.length).copy(out, pos);
  }
  return out;
}

/**
 * The fields of a DiscoveryResponse besides the resources: version_info (1), type_url (4), nonce (5),
 * control_plane (6). Protobuf fields may come in any order, so head + resources body is the message.
 */
export function encodeResponseHead(typeUrl: string, version: string, nonce: string, controlPlaneId: string): Buffer {
  const v = Buffer.from(version);
  const t = Buffer.from(typeUrl);
  const n = Buffer.from(nonce);
  const id = Buffer.from(controlPlaneId);
  const cp = lenField(id.length);
  const out = Buffer.allocUnsafe(lenField(v.length) + lenField(t.length) + lenField(n.length) + lenField(cp));
  let pos = 0;
  const field = (tag: number, b: Buffer) => { out[pos++] = tag; pos = writeVarint(out, pos, b.length); pos += b.copy(out, pos); };
  field(0x0a, v);
  field(0x22, t);
  field(0x2a, n);
  out[pos++] = 0x32;
  pos = writeVarint(out, pos, cp);
  field(0x0a, id);
  return out;
}

/** Encodes a whole DiscoveryResponse around already-encoded resources. */
export function encodeResponse(typeUrl: string, version: string, nonce: string, entries: readonly Entry[], controlPlaneId: string): Buffer {
  return Buffer.concat([encodeResponseHead(typeUrl, version, nonce, controlPlaneId), encodeResourcesBody(typeUrl, entries)]);
}

/**
 * Every length-delimited field of a message: [field number, start, end], or undefined if any field
 * is not length-delimited, except varint field `varintField` (returned with start = value, end = -1).
 */
function lengthFields(b: Uint8Array, varintField = 0): Array<[number, number, number]> | undefined {
  const out: Array<[number, number, number]> = [];
  let pos = 0;
  while (pos < b.length) {
    const tag = readVarint(b, pos);
    if (!tag) return undefined;
    const field = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    const v = readVarint(b, tag[1]);
    if (!v) return undefined;
    if (wire === 0 && field === varintField) { out.push([field, v[0], -1]); pos = v[1]; continue; }
    if (wire !== 2 || v[1] + v[0] > b.length) return undefined;
    out.push([field, v[1], v[1] + v[0]]);
    pos = v[1] + v[0];
  }
  return out;
}

const utf8 = (b: Uint8Array, start: number, end: number) => Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');

/**
 * The common request (an ACK/NACK or a subscription change, no `node`) read straight off the wire:
 * version_info (1), resource_names (3), type_url (4), response_nonce (5), error_detail (6: code,
 * message). Anything else (node, error details, resource locators, odd encodings) returns undefined.
 */
function decodeRequestFast(b: Uint8Array): DiscoveryRequest | undefined {
  const fields = lengthFields(b);
  if (!fields) return undefined;
  const r: { -readonly [K in keyof DiscoveryRequest]: DiscoveryRequest[K] } = {};
  for (const [f, start, end] of fields) {
    if (f === 1) r.version_info = utf8(b, start, end);
    else if (f === 3) (r.resource_names ??= []).push(utf8(b, start, end));
    else if (f === 4) r.type_url = utf8(b, start, end);
    else if (f === 5) r.response_nonce = utf8(b, start, end);
    else if (f === 6) {
      const inner = lengthFields(b.subarray(start, end), 1);
      if (!inner) return undefined;
      const status: { code?: number; message?: string } = {};
      for (const [g, s2, e2] of inner) {
        if (g === 1 && e2 === -1 && s2 < 2 ** 31) status.code = s2;
        else if (g === 2 && e2 !== -1) status.message = utf8(b, start + s2, start + e2);
        else return undefined;
      }
      r.error_detail = status;
    } else return undefined;
  }
  return r;
}

/** Decodes a DiscoveryRequest (node metadata Struct → plain JSON); requests without a node take a fast path. */
export function decodeRequest(b: Buffer): DiscoveryRequest {
  return decodeRequestFast(b) ?? (decodeResource(REQUEST, b) as DiscoveryRequest);
}

/** The full (protobufjs) decoder, for comparison in tests. */
export function decodeRequestFull(b: Buffer): DiscoveryRequest {
  return decodeResource(REQUEST, b) as DiscoveryRequest;
}

/** The AggregatedDiscoveryService definition (state of the world only; delta answers UNIMPLEMENTED). */
export const ADS_SERVICE: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    requestStream: true,
    responseStream: true,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: decodeRequest,
    // Pre-encoded (grpc-js copies it into its frame; the bytes themselves may be shared by many streams).
    responseSerialize: (r: Buffer | OutgoingResponse) => (Buffer.isBuffer(r) ? r : r.bytes),
    responseDeserialize: (b: Buffer) => b,
  },
};
