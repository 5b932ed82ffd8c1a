/**
 * Which inbound TCP chain an opaque-TCP connection from another sidecar is for. Several service
 * ports share the sidecar's one inbound port and TCP has no headers, so the caller's sidecar names
 * the service port in the TLS SNI (`<port>.weft-tcp.invalid`), as HTTP callers do with `weft-port`.
 */
import type { FilterChainConfig, ListenerConfig } from '../config/types';

/** Suffix of the SNI that names a service port (`.invalid` is reserved: it never resolves). */
export const TCP_SNI_SUFFIX = '.weft-tcp.invalid';

/** The SNI the outbound side sends for service port `port`. */
export function tcpServerName(port: number): string {
  return `${port}${TCP_SNI_SUFFIX}`;
}

/** The service port an SNI names, or undefined (no SNI, or not ours). */
export function servicePortOfServerName(name: string | false | null | undefined): number | undefined {
  if (typeof name !== 'string' || !name.endsWith(TCP_SNI_SUFFIX)) return undefined;
  const digits = name.slice(0, -TCP_SNI_SUFFIX.length);
  if (!/^[0-9]{1,5}$/.test(digits)) return undefined;
  const n = Number(digits);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The TCP chain of inbound listener `l` for a connection naming `servicePort` (from the SNI): the
 * chain whose `servicePort` matches; none when the chains declare service ports and none is this
 * one (the connection is closed, as an HTTP request naming an unknown `weft-port` gets no chain).
 * The first TCP chain when the caller sent no port, or when no chain declares one (config without
 * weft chain metadata): right whenever the workload has one TCP port.
 */
export function inboundTcpChain(l: ListenerConfig | undefined, servicePort: number | undefined): FilterChainConfig | undefined {
  const tcp = l?.chains.filter((c) => c.tcp) ?? [];
  if (servicePort === undefined || tcp.every((c) => c.servicePort === undefined)) return tcp[0];
  return tcp.find((c) => c.servicePort === servicePort);
}
