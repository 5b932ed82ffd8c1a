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
    for (const [name, c] of config.clusters) {
      const endpoints = c.staticEndpoints ?? config.endpoints.get(c.edsName)?.endpoints ?? [];
      let b = this.#clusters.get(name);
      if (!b) {
        b = new ClusterBalancer(c, this.#clients, this.deps.now, this.deps.random, this.#metrics);
        this.#clusters.set(name, b);
      }
      b.update(c, endpoints);
    }
    for (const [name, b] of this.#clusters) {
      if (!config.clusters.has(name)) {
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
