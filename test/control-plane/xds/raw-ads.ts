/** A raw ADS client over real grpc-js (no xDS library): sends DiscoveryRequests, queues responses. */
import * as grpc from '@grpc/grpc-js';
import { decodeResource, encodeResource, XdsObject } from '../../../api/xds/codec';

const REQ = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';
const RESP = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse';
const PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** A decoded DiscoveryResponse. */
export interface Resp {
  version_info: string;
  nonce: string;
  type_url: string;
  resources?: XdsObject[];
}

/** One ADS stream driven by hand. */
export class RawAds {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<XdsObject, Resp>;
  private readonly queue: Resp[] = [];
  private waiter: ((r: Resp) => void) | undefined;
  error: Error | undefined;

  constructor(port: number) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(PATH, (r: XdsObject) => encodeResource(REQ, r), (b: Buffer) => decodeResource(RESP, b) as unknown as Resp);
    this.call.on('data', (r: Resp) => {
      const w = this.waiter;
      if (w) { this.waiter = undefined; w(r); } else this.queue.push(r);
    });
    this.call.on('error', (e) => {
      this.error = e;
      const w = this.waiter;
      this.waiter = undefined;
      w?.(undefined as unknown as Resp);
    });
  }

  send(req: XdsObject): void {
    this.call.write(req);
  }

  /** The next response (fails after `timeoutMs`). */
  next(timeoutMs = 5000): Promise<Resp> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiter = undefined; reject(new Error('no response')); }, timeoutMs);
      this.waiter = (x) => { clearTimeout(t); if (x) resolve(x); else reject(this.error); };
    });
  }

  /** Responses already received and not yet read. */
  pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}

/** ACK of `r`, keeping the subscription `names`. */
export function ack(r: Resp, names: string[]): XdsObject {
  return { type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: names };
}
