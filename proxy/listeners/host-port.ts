/**
 * Inbound HTTP chain selection for callers that send no `weft-port` (plaintext clients, proxyless
 * gRPC): the port in Host / :authority says which service port they addressed, as in Kubernetes,
 * where `http://reviews:9080/` is redirected to the sidecar's one inbound port.
 */
import type { FilterChainConfig } from '../config/types';

/**
 * The port an authority names: its explicit `:port`, else the scheme's default (the servers strip
 * a default port, so `reviews` over http means 80); undefined when it is not a valid port.
 */
export function authorityPort(authority: string, scheme: 'http' | 'https'): number | undefined {
  const m = /^(?:\[[^\]]*\]|[^:[\]]*)(?::([0-9]{1,5}))?$/.exec(authority);
  if (!m) return undefined;
  if (m[1] === undefined) return scheme === 'https' ? 443 : 80;
  const n = Number(m[1]);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The HTTP chain a Host port picks: a chain serving that service port, else a chain whose
 * destination (target) port it is (a caller that dialled the pod IP and app port); undefined when
 * neither, so the caller falls back to the first HTTP chain. Service ports win because callers
 * address services, not pods.
 */
export function chainByHostPort(http: readonly FilterChainConfig[], authority: string, scheme: 'http' | 'https'): FilterChainConfig | undefined {
  const port = authorityPort(authority, scheme);
  if (port === undefined) return undefined;
  return http.find((c) => c.servicePort === port) ?? http.find((c) => c.destinationPort === port);
}
