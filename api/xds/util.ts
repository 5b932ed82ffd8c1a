/** Small helpers shared by the xDS resource builders: durations, percentages, names, filter names. */
import type { PortModel, ServiceModel } from '../model';
import { clusterName } from '../names';

/** A google.protobuf.Duration in the object form. */
export function dur(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** A FractionalPercent from a 0–100 percentage (MILLION denominator keeps fractions such as 0.5 %). */
export function fraction(percent: number): { numerator: number; denominator: string } {
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}

/** Whether a port carries HTTP (and so gets routes) rather than opaque TCP. */
export function isHttp(p: PortModel): boolean {
  return p.protocol !== 'tcp';
}

/**
 * The cluster of one service version on one port: `clusterName(service, ns, version)` for a
 * single-port service, with `:<port name>` appended when the service has several ports.
 */
export function versionCluster(svc: Pick<ServiceModel, 'name' | 'namespace' | 'ports'>, version: string, port: PortModel): string {
  const base = clusterName(svc.name, svc.namespace, version);
  return svc.ports.length > 1 ? `${base}:${port.name}` : base;
}

/** `<service>.<namespace>:<port>` — the proxyless listener / route config name and the outbound virtual host name. */
export function authority(svc: Pick<ServiceModel, 'name' | 'namespace'>, port: number): string {
  return `${svc.name}.${svc.namespace}:${port}`;
}

/** HTTP filter names, as Envoy spells them. */
export const FILTER = {
  FAULT: 'envoy.filters.http.fault',
  ROUTER: 'envoy.filters.http.router',
  RBAC: 'envoy.filters.http.rbac',
  HCM: 'envoy.filters.network.http_connection_manager',
  TCP_PROXY: 'envoy.filters.network.tcp_proxy',
} as const;

/**
 * Request header naming the destination service port, set (overwritten) by the caller's sidecar on
 * every outbound virtual host and read, then stripped, by the callee's inbound side.
 */
export const SERVICE_PORT_HEADER = 'weft-port';

/** The `filter_metadata` key weft puts its own settings under. */
export const WEFT_METADATA = 'weft';

/** ADS as the config source of RDS / EDS. */
export const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;
