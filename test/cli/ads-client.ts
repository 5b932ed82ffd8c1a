/**
 * A small but real ADS (state of the world) client over @grpc/grpc-js for tests: subscribes LDS/CDS
 * wildcard, follows them to RDS/EDS by name, ACKs every response, or NACKs the types a test picks.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeResource, encodeResource, XdsObject } from '../../api/xds/codec';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../api/xds/protos';

const REQUEST = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';
const RESPONSE = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse';
const PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** What the client last got for a type. */
export interface Received {
  readonly version: string;
  readonly nonce: string;
  readonly resources: XdsObject[];
}

/** Every value under key `k` anywhere in `o`. */
function collect(o: unknown, k: string, out: string[] = []): string[] {
  if (Array.isArray(o)) o.forEach((x) => collect(x, k, out));
  else if (o && typeof o === 'object') {
    for (const [key, v] of Object.entries(o)) {
      if (key === k && typeof v === 'string') out.push(v);
      else collect(v, k, out);
    }
  }
  return out;
}

export class TestAdsClient {
  readonly received = new Map<string, Received>();
  /** Every version received per type, in order (to show a change never reached the client). */
  readonly versions = new Map<string, string[]>();
  readonly acked = new Map<string, string>();
  private readonly names = new Map<string, string[]>();
  private readonly client: grpc.Client;
  private call?: grpc.ClientDuplexStream<XdsObject, XdsObject>;
  private first = true;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  constructor(
    target: string,
    private readonly node: XdsObject,
    /** Error text to NACK a response of `typeUrl` with, or undefined to ACK. */
    private readonly nack: (typeUrl: string) => string | undefined = () => undefined,
  ) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure());
  }

  start(): void {
    this.call = this.client.makeBidiStreamRequest(PATH, (o: XdsObject) => encodeResource(REQUEST, o), (b: Buffer) => decodeResource(RESPONSE, b));
    this.call.on('data', (r: XdsObject) => this.onResponse(r));
    this.call.on('error', () => undefined); // closing the channel cancels the call
    this.subscribe(LISTENER, []);
    this.subscribe(CLUSTER, []);
  }

  /** Resolves when `pred` holds (checked after every response). */
  until(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  close(): void {
    this.call?.cancel();
    this.client.close();
  }

  private send(req: XdsObject): void {
    this.call!.write(this.first ? { ...req, node: this.node } : req);
    this.first = false;
  }

  private subscribe(typeUrl: string, names: string[], nonce = this.received.get(typeUrl)?.nonce ?? ''): void {
    this.names.set(typeUrl, names);
    this.send({ type_url: typeUrl, resource_names: names, response_nonce: nonce, version_info: this.acked.get(typeUrl) ?? '' });
  }

  private onResponse(r: XdsObject): void {
    const typeUrl = r.type_url as string;
    const got: Received = { version: r.version_info as string, nonce: r.nonce as string, resources: (r.resources as XdsObject[] | undefined) ?? [] };
    this.received.set(typeUrl, got);
    this.versions.set(typeUrl, [...(this.versions.get(typeUrl) ?? []), got.version]);
    const names = this.names.get(typeUrl) ?? [];
    const error = this.nack(typeUrl);
    if (error) {
      this.send({ type_url: typeUrl, resource_names: names, response_nonce: got.nonce, version_info: this.acked.get(typeUrl) ?? '', error_detail: { code: 3, message: error } });
    } else {
      this.acked.set(typeUrl, got.version);
      this.send({ type_url: typeUrl, resource_names: names, response_nonce: got.nonce, version_info: got.version });
    }
    // Follow references the way a real client does: LDS → RDS names, CDS → EDS names.
    const follow = typeUrl === LISTENER ? ROUTE : typeUrl === CLUSTER ? ENDPOINT : undefined;
    if (follow) {
      const wanted = [...new Set(typeUrl === LISTENER ? collect(got.resources, 'route_config_name') : got.resources.filter((c) => c.type === 'EDS').map((c) => collect(c, 'service_name')[0] ?? (c.name as string)))].sort();
      if (wanted.length && wanted.join() !== (this.names.get(follow) ?? []).join()) this.subscribe(follow, wanted);
    }
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  }
}
