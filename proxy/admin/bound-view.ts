/**
 * What `/config_dump` shows of the listeners: the addresses the proxy really bound. The config says
 * where a pod's proxy listens (0.0.0.0:15006, 127.0.0.1:15001); a bootstrap may bind elsewhere (weft
 * up: free loopback ports), and a dump that shows the config's ports sends people to the wrong port.
 */
import type { ListenerConfig, ProxyConfig } from '../config/types';

/** Where the main listeners are bound (`host:port`). */
export interface BoundAddresses {
  readonly inbound: string;
  readonly outbound: string;
  readonly admin: string;
}

/** `config` with the inbound and outbound listeners at their bound address; the config's own one is kept as `configuredAddress`. */
export function boundConfigView(config: ProxyConfig, bound: BoundAddresses): ProxyConfig {
  const listeners = new Map<string, ListenerConfig & { configuredAddress?: string }>();
  for (const [name, l] of config.listeners) {
    const at = l.direction === 'inbound' ? bound.inbound : l.direction === 'outbound' && name === 'outbound' ? bound.outbound : undefined;
    if (!at) {
      listeners.set(name, l);
      continue;
    }
    const i = at.lastIndexOf(':');
    listeners.set(name, { ...l, address: at.slice(0, i), port: Number(at.slice(i + 1)), configuredAddress: `${l.address ?? ''}:${l.port ?? ''}` });
  }
  return { ...config, listeners };
}
