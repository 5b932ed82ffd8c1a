/**
 * The ADS wire: the gRPC service definition with our own (de)serializers, so resources go out as
 * pre-encoded bytes and requests come in as the codec's object form; and node identification.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClientKind } from '../../api/translate';
import { decodeResource } from '../../api/xds/codec';
import { lookupTypeUrl } from '../../api/xds/protos';
import type { Entry } from './snapshot';

const REQUEST = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';
const RESPONSE = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse';

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

/** Encodes a DiscoveryResponse around already-encoded resources. */
export function encodeResponse(typeUrl: string, version: string, nonce: string, entries: readonly Entry[], controlPlaneId: string): Buffer {
  const T = lookupTypeUrl(RESPONSE)!;
  return Buffer.from(T.encode(T.fromObject({
    version_info: version,
    type_url: typeUrl,
    nonce,
    resources: entries.map((e) => ({ type_url: typeUrl, value: e.bytes })),
    control_plane: { identifier: controlPlaneId },
  })).finish());
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
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};
