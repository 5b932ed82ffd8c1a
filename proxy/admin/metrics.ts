/**
 * The proxy-wide metrics the admin part owns (the layers define the per-request golden metrics in
 * the same Registry): open connections, TCP bytes, config version, certificate expiry, span export.
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import { counterIn, gaugeIn } from '../stack/metric-families';

/** Handles on the proxy-level metric families. */
export interface ProxyMetrics {
  readonly registry: Registry;
  /** Open downstream connections per listener (`outbound`, `inbound`, `tcp:<name>`, `admin`). */
  readonly openConnections: Gauge<'listener'>;
  /** Connections accepted per listener. */
  readonly connectionsTotal: Counter<'listener'>;
  /** Opaque TCP bytes per listener and direction (`rx` from downstream, `tx` to downstream). */
  readonly tcpBytes: Counter<'listener' | 'direction'>;
  /** 1 for the config version being served (`weft_proxy_config_info{version}`). */
  readonly configInfo: Gauge<'version'>;
  /** Unix time of the last accepted config. */
  readonly configTimestamp: Gauge<string>;
  /** xDS updates by type and result (`ack` / `nack`). */
  readonly xdsUpdates: Counter<'type' | 'result'>;
  /** Unix time at which the workload certificate expires. */
  readonly certExpiry: Gauge<'identity'>;
  /** Spans not delivered to the OTLP receiver (queue full, receiver error or timeout). */
  readonly spansDropped: Counter<string>;
  /** Spans the OTLP receiver accepted. */
  readonly spansExported: Counter<string>;
}

/** Creates (or finds) the proxy-level families in `registry`. */
export function proxyMetrics(registry: Registry): ProxyMetrics {
  return {
    registry,
    openConnections: gaugeIn(registry, 'weft_proxy_open_connections', 'Open downstream connections', ['listener']),
    connectionsTotal: counterIn(registry, 'weft_proxy_connections_total', 'Downstream connections accepted', ['listener']),
    tcpBytes: counterIn(registry, 'weft_proxy_tcp_bytes_total', 'Bytes relayed by opaque TCP listeners', ['listener', 'direction']),
    configInfo: gaugeIn(registry, 'weft_proxy_config_info', 'The config version being served (value 1)', ['version']),
    configTimestamp: gaugeIn(registry, 'weft_proxy_config_timestamp_seconds', 'Unix time the current config was accepted', []),
    xdsUpdates: counterIn(registry, 'weft_proxy_xds_updates_total', 'xDS responses processed, by type and result', ['type', 'result']),
    certExpiry: gaugeIn(registry, 'weft_proxy_certificate_expiry_timestamp_seconds', 'Unix time the workload certificate expires', ['identity']),
    spansDropped: counterIn(registry, 'weft_proxy_spans_dropped_total', 'Spans not delivered to the OTLP receiver (queue full, receiver error or timeout)', []),
    spansExported: counterIn(registry, 'weft_proxy_spans_exported_total', 'Spans the OTLP receiver accepted', []),
  };
}

/** Records a newly served config version. */
export function setConfigVersion(m: ProxyMetrics, version: string): void {
  m.configInfo.reset();
  m.configInfo.set({ version }, 1);
  m.configTimestamp.set(Date.now() / 1000);
}
