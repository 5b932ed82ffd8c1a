/**
 * All clusters' balancers, reconciled from the ConfigCell on every config swap: a cluster or
 * endpoint that survives keeps its state (EWMA, in-flight, ejections, breaker counts); removed
 * ones drain and release their endpoint clients. Endpoint clients are shared by target.
 */
import type { Registry } from 'prom-client';
import type { ConfigCell } from '../config/cell';
import type { ProxyConfig } from '../config/types';
import type { Handler } from '../stack/types';
import { type ClientPool, ClusterBalancer, type EndpointTarget } from './cluster';
import { balancerMetrics } from './metrics';

/** Makes the client for one endpoint (the HTTP/1 or HTTP/2 client, over mTLS when asked). */
export type EndpointClientFactory = (ep: EndpointTarget) => Handler;

export interface BackendsDeps {
  readonly endpointClient: EndpointClientFactory;
  readonly metrics: Registry;
  readonly now: () => number;
  readonly random: () => number;
  /**
   * The clusters this stack balances (the inbound stack only needs the local app's). Two stacks
   * must not both keep state and gauges for one cluster. @default - every cluster in the config
   */
  readonly select?: (config: ProxyConfig) => (name: string) => boolean;
}

/** Every cluster the route tables named by `tables` forward or mirror to. */
export function clustersOfTables(config: ProxyConfig, tables: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const t of tables) {
    for (const vh of config.routes.get(t)?.virtualHosts ?? []) {
      for (const r of vh.routes) {
        if (r.action.kind !== 'forward') continue;
        for (const c of r.action.clusters) out.add(c.name);
        for (const m of r.action.mirrors) out.add(m.cluster);
      }
    }
  }
  return out;
}

/** Reference-counted endpoint clients; a client whose last user goes away is closed if it can be. */
class SharedClients implements ClientPool {
  readonly #clients = new Map<string, { handler: Handler; refs: number }>();

  constructor(private readonly factory: EndpointClientFactory) {}

  acquire(target: EndpointTarget): { handler: Handler; key: string } {
    const key = JSON.stringify(target);
    let c = this.#clients.get(key);
    if (!c) {
      c = { handler: this.factory(target), refs: 0 };
      this.#clients.set(key, c);
    }
    c.refs++;
    return { handler: c.handler, key };
  }

  release(key: string): void {
    const c = this.#clients.get(key);
    if (!c || --c.refs > 0) return;
    this.#clients.delete(key);
    const close = (c.handler as { close?: () => unknown }).close;
    if (typeof close === 'function') Promise.resolve(close.call(c.handler)).catch(() => undefined);
  }

  /**
   * One user of `key` let its endpoint go but still has requests on it: when nobody else uses the
   * client, its idle connections close now (the busy ones close on release()).
   */
  retiring(key: string): void {
    const c = this.#clients.get(key);
    if (!c || c.refs > 1) return;
    const closeIdle = (c.handler as { closeIdle?: () => unknown }).closeIdle;
    if (typeof closeIdle === 'function') closeIdle.call(c.handler);
  }

  get size(): number {
    return this.#clients.size;
  }
}

export class Backends {
  readonly #clusters = new Map<string, ClusterBalancer>();
  readonly #clients: SharedClients;
  readonly #unsubscribe: () => void;
  readonly #metrics: ReturnType<typeof balancerMetrics>;

  constructor(cell: ConfigCell, private readonly deps: BackendsDeps) {
    this.#clients = new SharedClients(deps.endpointClient);
    this.#metrics = balancerMetrics(deps.metrics);
    this.reconcile(cell.get());
    this.#unsubscribe = cell.onChange((c) => this.reconcile(c));
  }

  /** The balancer of cluster `name`, if the config has it. */
  get(name: string): ClusterBalancer | undefined {
    return this.#clusters.get(name);
  }

  /** Number of live endpoint clients (for tests and /config_dump). */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Brings the balancers in line with `config`. */
  reconcile(config: ProxyConfig): void {
    const wanted = this.deps.select?.(config) ?? (() => true);
    for (const [name, c] of config.clusters) {
      if (!wanted(name)) continue;
      const endpoints = c.staticEndpoints ?? config.endpoints.get(c.edsName)?.endpoints ?? [];
      let b = this.#clusters.get(name);
      if (!b) {
        b = new ClusterBalancer(c, this.#clients, this.deps.now, this.deps.random, this.#metrics);
        this.#clusters.set(name, b);
      }
      b.update(c, endpoints);
    }
    for (const [name, b] of this.#clusters) {
      if (!config.clusters.has(name) || !wanted(name)) {
        b.close();
        this.#clusters.delete(name);
      }
    }
  }

  /** Stops following the config and releases every client. */
  close(): void {
    this.#unsubscribe();
    for (const b of this.#clusters.values()) b.close();
    this.#clusters.clear();
  }
}
