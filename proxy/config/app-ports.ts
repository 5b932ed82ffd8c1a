/**
 * The inbound app clusters (`inbound|<port name>`) are rendered by the control plane as
 * 127.0.0.1:<targetPort>; the proxy sends them to its bootstrap's `ports.app[<port name>]` instead,
 * so several replicas on one host (`weft up` loopback mode) each reach their own app.
 */
import type { ClusterConfig, ProxyConfig } from './types';

/** Name prefix of the local-app clusters and of the inbound filter chains (`inbound|<port name>`). */
export const INBOUND_PREFIX = 'inbound|';

/** The app port of inbound cluster / chain `name` from `appPorts`; undefined for any other name. */
export function appPortOf(name: string, appPorts: Readonly<Record<string, number>>): number | undefined {
  return name.startsWith(INBOUND_PREFIX) ? appPorts[name.slice(INBOUND_PREFIX.length)] : undefined;
}

/** `config` with every `inbound|<port name>` cluster pointed at `appPorts[name]`; the same object when nothing changes (idempotent). */
export function remapAppPorts(config: ProxyConfig, appPorts: Readonly<Record<string, number>>): ProxyConfig {
  let changed = false;
  const clusters = new Map<string, ClusterConfig>();
  for (const [name, c] of config.clusters) {
    const port = appPortOf(name, appPorts);
    if (port !== undefined && c.staticEndpoints?.some((e) => e.port !== port)) {
      changed = true;
      clusters.set(name, { ...c, staticEndpoints: c.staticEndpoints.map((e) => ({ ...e, port })) });
    } else clusters.set(name, c);
  }
  return changed ? { ...config, clusters } : config;
}
