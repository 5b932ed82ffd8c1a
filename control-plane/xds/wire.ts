/**
 * The ADS wire: the gRPC service definition with our own (de)serializers, so resources go out as
 * pre-encoded bytes (shared across streams) and requests come in as the codec's object form; and node identification.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClientKind } from '../../api/translate';
import { decodeResource } from '../../api/xds/codec';
import type { Entry } from './snapshot';

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

/**
 * A DiscoveryResponse ready for the wire, in two parts: `head` (version, type, nonce, control
 * plane: small, per stream) and `body` (the encoded `resources` field, shared by every stream that
 * is sent the same entries). Protobuf fields may come in any order, so head + body is the message.
 * Queued responses hold only references; the bytes are joined when gRPC writes them.
 */
export interface OutgoingResponse {
  readonly typeUrl: string;
  readonly version: string;
  readonly head: Buffer;
  readonly body: Buffer;
  /** head + body length. */
  readonly size: number;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) { n = Math.floor(n / 128); len++; }
  return len;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) { buf[pos++] = (n % 128) | 0x80; n = Math.floor(n / 128); }
  buf[pos++] = n;
  return pos;
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

/** The per-stream part of a DiscoveryResponse: version_info (1), type_url (4), nonce (5), control_plane (6). */
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

/** Builds an OutgoingResponse from a head and a (possibly shared) resources body. */
export function outgoing(typeUrl: string, version: string, nonce: string, body: Buffer, controlPlaneId: string): OutgoingResponse {
  const head = encodeResponseHead(typeUrl, version, nonce, controlPlaneId);
  return { typeUrl, version, head, body, size: head.length + body.length };
}

/** Encodes a whole DiscoveryResponse around already-encoded resources. */
export function encodeResponse(typeUrl: string, version: string, nonce: string, entries: readonly Entry[], controlPlaneId: string): Buffer {
  const r = outgoing(typeUrl, version, nonce, encodeResourcesBody(typeUrl, entries), controlPlaneId);
  return Buffer.concat([r.head, r.body], r.size);
}

/** Decodes a DiscoveryRequest (node metadata Struct → plain JSON). */
export function decodeRequest(b: Buffer): DiscoveryRequest {
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
    // Pre-encoded: a Buffer, or an OutgoingResponse joined only now (when gRPC writes it).
    responseSerialize: (r: Buffer | OutgoingResponse) => (Buffer.isBuffer(r) ? r : Buffer.concat([r.head, r.body], r.size)),
    responseDeserialize: (b: Buffer) => b,
  },
};
