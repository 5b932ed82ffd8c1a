/**
 * A simulated sidecar xDS client for the benchmark: wildcard LDS/CDS, RDS and EDS by the names they
 * reference, ACKs everything at once, and records when it ACKs each RDS version.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeResource, encodeResource, XdsObject } from '../../api/xds/codec';
import { CLUSTER, ENDPOINT, LISTENER, lookupTypeUrl, ROUTE } from '../../api/xds/protos';

const REQ = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';
const PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

interface Resp { version_info: string; nonce: string; type_url: string; resources?: XdsObject[] }

/** Decodes only the envelope (resources stay bytes); clusters are decoded where EDS names are needed. */
function decodeEnvelope(b: Buffer): Resp {
  const T = lookupTypeUrl('type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse')!;
  const m = T.decode(b) as unknown as { version_info: string; nonce: string; type_url: string; resources: { value: Uint8Array }[] };
  const resources = m.type_url === CLUSTER ? m.resources.map((r) => decodeResource(CLUSTER, r.value)) : [];
  return { version_info: m.version_info, nonce: m.nonce, type_url: m.type_url, resources };
}

/** One simulated sidecar. */
export class SimClient {
  readonly rdsAcks = new Map<string, number>();
  readonly received = new Set<string>();
  private readonly call: grpc.ClientDuplexStream<XdsObject, Resp>;
  private edsNames: string[] = [];
  private readonly nonces = new Map<string, string>();

  constructor(client: grpc.Client, readonly id: string, service: string) {
    this.call = client.makeBidiStreamRequest(PATH, (r: XdsObject) => encodeResource(REQ, r), decodeEnvelope);
    this.call.on('data', (r: Resp) => this.onResponse(r));
    this.call.on('error', () => undefined);
    this.call.write({ node: { id, user_agent_name: 'weft-proxy', metadata: { service, namespace: 'default', version: 'v1' } }, type_url: LISTENER, resource_names: [] });
    this.call.write({ type_url: CLUSTER, resource_names: [] });
    this.call.write({ type_url: ROUTE, resource_names: ['outbound'] });
  }

  private onResponse(r: Resp): void {
    this.received.add(r.type_url);
    this.nonces.set(r.type_url, r.nonce);
    let names: string[] = [];
    if (r.type_url === LISTENER || r.type_url === CLUSTER) names = [];
    if (r.type_url === ROUTE) { names = ['outbound']; this.rdsAcks.set(r.version_info, Date.now()); }
    if (r.type_url === ENDPOINT) names = this.edsNames;
    this.call.write({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: names });
    if (r.type_url === CLUSTER) {
      const eds = (r.resources ?? []).filter((c) => c.type === 'EDS').map((c) => String((c.eds_cluster_config as XdsObject)?.service_name ?? c.name));
      if (eds.join() !== this.edsNames.join()) {
        this.edsNames = eds;
        this.call.write({ type_url: ENDPOINT, response_nonce: this.nonces.get(ENDPOINT) ?? '', resource_names: eds });
      }
    }
  }

  close(): void {
    this.call.end();
  }
}
