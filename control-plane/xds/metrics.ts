/** Prometheus metrics of the ADS server, registered on a registry the caller owns (no globals). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NackLedger } from './ledger';

const short = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf('.') + 1);

/** The ADS server's metrics. */
export class AdsMetrics {
  readonly registry: Registry;
  readonly clients: Gauge<'kind'>;
  readonly responses: Counter<'type'>;
  readonly acks: Counter<'type'>;
  readonly nacks: Counter<'type'>;
  readonly stale: Counter<'type'>;
  readonly oversize: Counter<'type'>;
  readonly ackLatency: Histogram<'type'>;

  constructor(registry: Registry | undefined, ledger: NackLedger) {
    this.registry = registry ?? new Registry();
    const registers = [this.registry];
    this.clients = new Gauge({ name: 'weft_xds_connected_clients', help: 'Open ADS streams by client kind.', labelNames: ['kind'], registers });
    this.responses = new Counter({ name: 'weft_xds_responses_total', help: 'DiscoveryResponses sent, by resource type.', labelNames: ['type'], registers });
    this.acks = new Counter({ name: 'weft_xds_acks_total', help: 'ACKs received, by resource type.', labelNames: ['type'], registers });
    this.nacks = new Counter({ name: 'weft_xds_nacks_total', help: 'NACKs received, by resource type.', labelNames: ['type'], registers });
    this.stale = new Counter({ name: 'weft_xds_stale_requests_total', help: 'Requests ignored because their nonce was stale.', labelNames: ['type'], registers });
    this.oversize = new Counter({ name: 'weft_xds_oversize_responses_total', help: 'Responses refused or split because they exceeded the size budget.', labelNames: ['type'], registers });
    this.ackLatency = new Histogram({ name: 'weft_xds_ack_seconds', help: 'Time from a response to its ACK or NACK.', labelNames: ['type'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers });
    new Gauge({
      name: 'weft_xds_nacked_resources',
      help: 'Resources currently NACKed by some connected node, by resource type.',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const e of ledger.nacked()) this.inc({ type: short(e.typeUrl) });
      },
    });
  }

  /** The short label of a type URL (`Cluster`, `RouteConfiguration`, …). */
  static type(typeUrl: string): string {
    return short(typeUrl);
  }
}
