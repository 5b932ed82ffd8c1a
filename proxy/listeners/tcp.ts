/**
 * Outbound opaque-TCP listeners: one local port per `tcp` service port in the config (Envoy
 * `tcp_proxy` listeners named `outbound|<svc>.<ns>:<port>`), each relaying to an endpoint of the
 * service — over mTLS (ALPN weft-tcp, SNI naming the service port) when the cluster asks for it.
 * The version (cluster) is drawn per connection by the tcp_proxy weights. Reconciled on every swap.
 */
import type { ConfigCell, ProxyConfig } from '../config';
import type { ClusterConfig, EndpointConfig, ListenerConfig } from '../config/types';
import { TcpProxy, type ByteCounter, type TcpTarget } from '../transport/tcp';
import type { TlsContexts } from '../transport/tls';
import { tcpServerName } from './inbound-tcp';

/** Dependencies of the outbound TCP listeners. */
export interface OutboundTcpDeps {
  readonly cell: ConfigCell;
  readonly tls?: TlsContexts;
  /** Address the listeners bind. @default '127.0.0.1' */
  readonly host?: string;
  readonly count?: (listener: string) => ByteCounter;
  readonly log?: (level: 'info' | 'warn', msg: string) => void;
  /** Randomness of the weighted picks (tests seed it). @default Math.random */
  readonly random?: () => number;
}

const NAME = /^outbound\|([^.|]+)\.([^.|:]+):(\d+)$/;

/** A cluster of a TCP listener with its tcp_proxy weight. */
export interface WeightedCluster {
  readonly cluster: ClusterConfig;
  readonly weight: number;
}

/**
 * The clusters of a TCP listener: its tcp_proxy `cluster` / `weighted_clusters` (names the config
 * lacks are skipped); for a tcp_proxy without a target, weft's naming convention
 * (`<svc>.<ns>|<version>`, single-port services) with equal weights.
 */
export function tcpClusters(config: ProxyConfig, listener: ListenerConfig): WeightedCluster[] {
  const named = listener.chains.find((c) => c.tcp && c.tcpClusters?.length)?.tcpClusters;
  if (named) {
    return named.flatMap((c) => {
      const cluster = config.clusters.get(c.name);
      return cluster ? [{ cluster, weight: c.weight }] : [];
    });
  }
  const m = NAME.exec(listener.name);
  if (!m) return [];
  const prefix = `${m[1]}.${m[2]}|`;
  return [...config.clusters.values()]
    .filter((c) => c.name.startsWith(prefix) && !c.name.slice(prefix.length).includes(':'))
    .map((cluster) => ({ cluster, weight: 1 }));
}

/** Draws one item with probability weight / total (undefined when empty or all weights are 0). */
export function pickWeighted<T extends { readonly weight: number }>(items: readonly T[], random: () => number): T | undefined {
  const total = items.reduce((s, i) => s + i.weight, 0);
  if (total <= 0) return undefined;
  let r = random() * total;
  for (const i of items) {
    r -= i.weight;
    if (r < 0) return i;
  }
  return items[items.length - 1];
}

/** The service port a TCP listener stands for: weft metadata, else the `:<port>` of its name. */
export function listenerServicePort(l: ListenerConfig): number | undefined {
  if (l.servicePort !== undefined) return l.servicePort;
  const m = NAME.exec(l.name);
  return m ? Number(m[3]) : undefined;
}

/** The opaque-TCP outbound listeners of one sidecar. */
export class OutboundTcpListeners {
  readonly #deps: OutboundTcpDeps;
  readonly #open = new Map<string, { port: number; proxy: TcpProxy }>();
  readonly #unsubscribe: () => void;

  constructor(deps: OutboundTcpDeps) {
    this.#deps = deps;
    this.#unsubscribe = deps.cell.onChange((c) => void this.reconcile(c));
  }

  /** Bound port per listener name. */
  ports(): ReadonlyMap<string, number> {
    return new Map([...this.#open].map(([k, v]) => [k, v.port]));
  }

  /**
   * The target of one new connection: a cluster drawn by the tcp_proxy weights among those with a
   * healthy endpoint (a version without endpoints does not swallow its share as failures), then
   * an endpoint drawn by its EDS weight.
   */
  #target(name: string): TcpTarget | undefined {
    const config = this.#deps.cell.get();
    const l = config.listeners.get(name);
    if (!l) return undefined;
    const random = this.#deps.random ?? Math.random;
    const usable = tcpClusters(config, l).flatMap(({ cluster, weight }) => {
      const eps = (cluster.staticEndpoints ?? config.endpoints.get(cluster.edsName)?.endpoints ?? []).filter((e) => e.healthy);
      return eps.length > 0 ? [{ cluster, weight, eps }] : [];
    });
    const picked = pickWeighted(usable, random);
    if (!picked) return undefined;
    const ep = pickWeighted<EndpointConfig>(picked.eps, random)!;
    const { cluster } = picked;
    const tls = cluster.tls && ep.meshed && this.#deps.tls;
    const port = listenerServicePort(l);
    return {
      address: ep.address, port: ep.port,
      tls: tls ? {
        context: () => this.#deps.tls?.client(),
        expectedIdentity: ep.identity ?? cluster.tls?.expectedIdentity,
        serverName: port !== undefined ? tcpServerName(port) : undefined,
      } : undefined,
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
