/**
 * The proxy side of the ADS wire: DiscoveryRequest encoding and per-resource DiscoveryResponse
 * decoding over the shared strict codec, so one undecodable resource is NACKed by name instead
 * of failing the whole response.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeResource, encodeResource, type XdsObject } from '../../api/xds/codec';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, lookupTypeUrl } from '../../api/xds/protos';
import type { ResourceType } from '../config';

const REQUEST = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';
const RESPONSE = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse';

/** Resource type ↔ type URL, in the order the client subscribes (LDS and CDS first). */
export const TYPE_URLS: Readonly<Record<ResourceType, string>> = { listener: LISTENER, cluster: CLUSTER, route: ROUTE, endpoint: ENDPOINT };
/** Type URL → resource type. */
export const TYPE_OF: Readonly<Record<string, ResourceType>> = Object.fromEntries(Object.entries(TYPE_URLS).map(([k, v]) => [v, k as ResourceType]));

/** What the client sends. */
export interface OutgoingRequest {
  readonly version_info: string;
  readonly node?: XdsObject;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: { readonly code: number; readonly message: string };
}

/** A response with each resource decoded on its own. */
export interface IncomingResponse {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  /** Decoded resources (object form). */
  readonly resources: XdsObject[];
  /** Resources that could not be decoded, by index: the NACK names them. */
  readonly decodeErrors: string[];
}

/** Encodes a DiscoveryRequest. */
export function encodeRequest(r: OutgoingRequest): Buffer {
  return encodeResource(REQUEST, { ...r, resource_names: [...r.resource_names] } as XdsObject);
}

/** Decodes a DiscoveryResponse, resource by resource. */
export function decodeResponse(b: Buffer): IncomingResponse {
  const T = lookupTypeUrl(RESPONSE)!;
  const msg = T.decode(b) as unknown as { version_info: string; type_url: string; nonce: string; resources: { type_url: string; value: Uint8Array }[] };
  const resources: XdsObject[] = [];
  const decodeErrors: string[] = [];
  (msg.resources ?? []).forEach((any, i) => {
    try {
      if (any.type_url !== msg.type_url) throw new Error(`resource type ${any.type_url} in a ${msg.type_url} response`);
      resources.push(decodeResource(any.type_url, any.value));
    } catch (e) {
      decodeErrors.push(`resource #${i}: ${(e as Error).message}`);
    }
  });
  return { versionInfo: msg.version_info ?? '', typeUrl: msg.type_url ?? '', nonce: msg.nonce ?? '', resources, decodeErrors };
}

/** The ADS method with byte-level (de)serializers. */
export const ADS_METHOD = {
  path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
  serialize: (r: OutgoingRequest) => encodeRequest(r),
  deserialize: (b: Buffer) => decodeResponse(b),
} as const;

/** A client channel to the ADS server with keepalive (so a dead control plane is noticed); plaintext unless `credentials` say otherwise. */
export function adsChannel(target: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), extra: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(target, credentials, {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    ...extra,
  });
}
