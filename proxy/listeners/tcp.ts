/**
 * Outbound opaque-TCP listeners: one local port per `tcp` service port in the config (Envoy
 * `tcp_proxy` listeners named `outbound|<svc>.<ns>:<port>`), each relaying to an endpoint of the
 * service — over mTLS (ALPN weft-tcp) when the cluster asks for it. Reconciled on every config swap.
 */
import type { ConfigCell, ProxyConfig } from '../config';
import type { ClusterConfig, EndpointConfig, ListenerConfig } from '../config/types';
import { TcpProxy, type ByteCounter, type TcpTarget } from '../transport/tcp';
import type { TlsContexts } from '../transport/tls';

/** Dependencies of the outbound TCP listeners. */
export interface OutboundTcpDeps {
  readonly cell: ConfigCell;
  readonly tls?: TlsContexts;
  /** Address the listeners bind. @default '127.0.0.1' */
  readonly host?: string;
  readonly count?: (listener: string) => ByteCounter;
  readonly log?: (level: 'info' | 'warn', msg: string) => void;
}

const NAME = /^outbound\|([^.|]+)\.([^.|:]+):(\d+)$/;

/**
 * The clusters of a TCP listener. The parsed `tcp_proxy` chain does not carry its cluster yet, so
 * they are found by weft's naming convention (`<svc>.<ns>|<version>`, single-port services).
 * TODO(proxy): read the tcp_proxy cluster / weighted_clusters once proxy/config exposes them.
 */
export function tcpClusters(config: ProxyConfig, listener: ListenerConfig): ClusterConfig[] {
  const m = NAME.exec(listener.name);
  if (!m) return [];
  const prefix = `${m[1]}.${m[2]}|`;
  return [...config.clusters.values()].filter((c) => c.name.startsWith(prefix) && !c.name.slice(prefix.length).includes(':'));
}

/** The opaque-TCP outbound listeners of one sidecar. */
export class OutboundTcpListeners {
  readonly #deps: OutboundTcpDeps;
  readonly #open = new Map<string, { port: number; proxy: TcpProxy }>();
  #next = 0;
  readonly #unsubscribe: () => void;

  constructor(deps: OutboundTcpDeps) {
    this.#deps = deps;
    this.#unsubscribe = deps.cell.onChange((c) => void this.reconcile(c));
  }

  /** Bound port per listener name. */
  ports(): ReadonlyMap<string, number> {
    return new Map([...this.#open].map(([k, v]) => [k, v.port]));
  }

  #target(name: string): TcpTarget | undefined {
    const config = this.#deps.cell.get();
    const l = config.listeners.get(name);
    if (!l) return undefined;
    const candidates: { cluster: ClusterConfig; ep: EndpointConfig }[] = [];
    for (const cluster of tcpClusters(config, l)) {
      const eps = cluster.staticEndpoints ?? config.endpoints.get(cluster.edsName)?.endpoints ?? [];
      for (const ep of eps) if (ep.healthy) candidates.push({ cluster, ep });
    }
    if (candidates.length === 0) return undefined;
    const { cluster, ep } = candidates[this.#next++ % candidates.length];
    const tls = cluster.tls && ep.meshed && this.#deps.tls;
    return {
      address: ep.address, port: ep.port,
      tls: tls ? { context: () => this.#deps.tls?.client(), expectedIdentity: ep.identity ?? cluster.tls?.expectedIdentity } : undefined,
    };
  }

  /** Opens listeners that appeared and closes those that went away. */
  async reconcile(config: ProxyConfig = this.#deps.cell.get()): Promise<void> {
    const wanted = new Map<string, number>();
    for (const l of config.listeners.values()) {
      if (l.direction === 'outbound' && l.port !== undefined && l.chains.length > 0 && l.chains.every((c) => c.tcp)) wanted.set(l.name, l.port);
    }
    for (const [name, o] of this.#open) {
      if (wanted.get(name) !== o.port) {
        this.#open.delete(name);
        await o.proxy.drain(0);
      }
    }
    for (const [name, port] of wanted) {
      if (this.#open.has(name)) continue;
      const proxy = new TcpProxy({ target: () => this.#target(name), count: this.#deps.count?.(name) });
      try {
        const bound = await proxy.listen(port, this.#deps.host ?? '127.0.0.1');
        this.#open.set(name, { port: bound, proxy });
      } catch (e) {
        this.#deps.log?.('warn', `outbound TCP listener ${name} on port ${port}: ${(e as Error).message}`);
      }
    }
  }

  /** Stops accepting; open relays get `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    this.#unsubscribe();
    await Promise.all([...this.#open.values()].map((o) => o.proxy.drain(timeoutMs)));
    this.#open.clear();
  }
}
