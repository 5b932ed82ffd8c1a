/**
 * A simulated sidecar xDS client for the benchmark: wildcard LDS/CDS, RDS and EDS by the names they
 * reference, ACKs everything at once, and records when it ACKs each RDS version. To keep the client
 * side cheap, a response is only scanned for its version, type and nonce (resources stay bytes), and
 * the clusters of one CDS version are decoded once for all simulated clients (they all get the same
 * bytes), not 1,000 times.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeResource, encodeResource, XdsObject } from '../../api/xds/codec';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../api/xds/protos';

export const REQ = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';
export const PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** The envelope of a DiscoveryResponse; `resources` are the raw Any values (only kept for CDS). */
interface Resp { version_info: string; nonce: string; type_url: string; count: number; resources: Buffer[] }

function varint(b: Buffer, pos: number): [number, number] {
  let n = 0;
  let mul = 1;
  for (;;) {
    const x = b[pos++];
    n += (x & 0x7f) * mul;
    if (x < 0x80) return [n, pos];
    mul *= 128;
  }
}

/** The value field (2) of a google.protobuf.Any. */
function anyValue(b: Buffer): Buffer {
  let pos = 0;
  while (pos < b.length) {
    const [tag, p] = varint(b, pos);
    const [len, q] = varint(b, p);
    if (tag === 0x12) return b.subarray(q, q + len);
    pos = q + len;
  }
  return Buffer.alloc(0);
}

/** Reads the envelope fields without building message objects (every field here is length-delimited). */
function decodeEnvelope(b: Buffer): Resp {
  const r: Resp = { version_info: '', nonce: '', type_url: '', count: 0, resources: [] };
  let pos = 0;
  while (pos < b.length) {
    const [tag, p] = varint(b, pos);
    const [len, q] = varint(b, p);
    const end = q + len;
    if (tag === 0x0a) r.version_info = b.toString('utf8', q, end);
    else if (tag === 0x22) r.type_url = b.toString('utf8', q, end);
    else if (tag === 0x2a) r.nonce = b.toString('utf8', q, end);
    else if (tag === 0x12) { r.count++; r.resources.push(b.subarray(q, end)); }
    pos = end;
  }
  return r;
}

/** EDS names by CDS version, shared by every simulated client. */
const edsByVersion = new Map<string, string[]>();

/** EDS service names of the clusters of one CDS version (`anys`: the encoded Any of each resource), decoded once. */
export function edsNamesOf(version: string, anys: () => Buffer[]): string[] {
  let names = edsByVersion.get(version);
  if (!names) {
    const clusters = anys().map((a) => decodeResource(CLUSTER, anyValue(a)));
    names = clusters.filter((c) => c.type === 'EDS').map((c) => String((c.eds_cluster_config as XdsObject)?.service_name ?? c.name));
    edsByVersion.set(version, names);
  }
  return names;
}

/** A response as both transports see it: the envelope fields and a way to get the resources' encoded Any bytes. */
export interface ScannedResponse { readonly version_info: string; readonly type_url: string; readonly nonce: string }

/**
 * The ADS side of one simulated sidecar, whatever carries it: subscribes like a weft sidecar
 * (LDS, CDS, RDS `outbound`, then EDS for the clusters' service names), ACKs every response and
 * records when each RDS version was ACKed.
 */
export abstract class SimAdsClient {
  readonly rdsAcks = new Map<string, number>();
  /** Called on every RDS ACK with the version and the time. */
  onRdsAck: ((version: string, at: number) => void) | undefined;
  readonly received = new Set<string>();
  /** Response bytes received. */
  bytes = 0;
  private edsNames: string[] = [];
  private readonly nonces = new Map<string, string>();

  protected abstract send(req: XdsObject): void;
  abstract close(): void;

  protected subscribe(id: string, service: string): void {
    this.send({ node: { id, user_agent_name: 'weft-proxy', metadata: { service, namespace: 'default', version: 'v1' } }, type_url: LISTENER, resource_names: [] });
    this.send({ type_url: CLUSTER, resource_names: [] });
    this.send({ type_url: ROUTE, resource_names: ['outbound'] });
  }

  protected onResponse(r: ScannedResponse, anys: () => Buffer[]): void {
    this.received.add(r.type_url);
    this.nonces.set(r.type_url, r.nonce);
    let names: string[] = [];
    if (r.type_url === ROUTE) {
      names = ['outbound'];
      const at = Date.now();
      this.rdsAcks.set(r.version_info, at);
      this.onRdsAck?.(r.version_info, at);
    }
    if (r.type_url === ENDPOINT) names = this.edsNames;
    this.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: names });
    if (r.type_url === CLUSTER) {
      const eds = edsNamesOf(r.version_info, anys);
      if (eds !== this.edsNames && eds.join() !== this.edsNames.join()) {
        this.edsNames = eds;
        this.send({ type_url: ENDPOINT, response_nonce: this.nonces.get(ENDPOINT) ?? '', resource_names: eds });
      }
    }
  }
}

/** One simulated sidecar on a grpc-js client stream. */
export class SimClient extends SimAdsClient {
  private readonly call: grpc.ClientDuplexStream<XdsObject, Resp>;

  constructor(client: grpc.Client, readonly id: string, service: string) {
    super();
    this.call = client.makeBidiStreamRequest(PATH, (r: XdsObject) => encodeResource(REQ, r), (b: Buffer) => { this.bytes += b.length; return decodeEnvelope(b); });
    this.call.on('data', (r: Resp) => this.onResponse(r, () => r.resources));
    this.call.on('error', () => undefined);
    this.subscribe(id, service);
  }

  protected send(req: XdsObject): void {
    this.call.write(req);
  }

  close(): void {
    this.call.end();
  }
}
