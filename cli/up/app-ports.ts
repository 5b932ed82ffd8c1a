/**
 * Loopback mode runs several replicas of a service on one host, so each app listens on its own
 * port (bootstrap `ports.app`) instead of the service's targetPort. The control plane renders the
 * inbound app clusters as 127.0.0.1:<targetPort>; this maps them to the replica's own app port.
 * Until runProxy does this itself from `ports.app`, the `weft up` sidecar entry applies it to
 * every config the xDS client installs.
 */
import type { ClusterConfig, ProxyConfig } from '../../proxy/config/types';

const INBOUND_PREFIX = 'inbound|';

/** `config` with every `inbound|<port name>` cluster pointed at `127.0.0.1:appPorts[name]`; the same object when nothing changes. */
export function remapAppPorts(config: ProxyConfig, appPorts: Readonly<Record<string, number>>): ProxyConfig {
  let changed = false;
  const clusters = new Map<string, ClusterConfig>();
  for (const [name, c] of config.clusters) {
    const port = name.startsWith(INBOUND_PREFIX) ? appPorts[name.slice(INBOUND_PREFIX.length)] : undefined;
    if (port !== undefined && c.staticEndpoints?.some((e) => e.port !== port)) {
      changed = true;
      clusters.set(name, { ...c, staticEndpoints: c.staticEndpoints.map((e) => ({ ...e, port })) });
    } else clusters.set(name, c);
  }
  return changed ? { ...config, clusters } : config;
}

/** Keeps `cell` remapped: patches the current config and every later one (idempotent, so the nested set settles at once). */
export function keepAppPortsRemapped(cell: { get(): ProxyConfig; set(c: ProxyConfig): void; onChange(l: (next: ProxyConfig) => void): () => void }, appPorts: Readonly<Record<string, number>>): () => void {
  const fix = (c: ProxyConfig) => {
    const patched = remapAppPorts(c, appPorts);
    if (patched !== c) cell.set(patched);
  };
  const off = cell.onChange(fix);
  fix(cell.get());
  return off;
}
