/**
 * Holds the current ProxyConfig. Stacks read it once per request (so one request sees one
 * snapshot) and the xDS client swaps it atomically between requests; listeners reconcile state.
 */
import { emptyConfig } from './parse';
import type { ProxyConfig } from './types';

/** A swappable reference to the current config, with change listeners. */
export class ConfigCell {
  #current: ProxyConfig;
  readonly #listeners = new Set<(next: ProxyConfig, previous: ProxyConfig) => void>();

  constructor(initial: ProxyConfig = emptyConfig()) {
    this.#current = initial;
  }

  /** The config new requests use. */
  get(): ProxyConfig {
    return this.#current;
  }

  /** Installs `next` for every request that starts from now on; in-flight requests keep theirs. */
  set(next: ProxyConfig): void {
    const previous = this.#current;
    this.#current = next;
    for (const l of this.#listeners) l(next, previous);
  }

  /** Calls `listener` after every swap; returns the unsubscribe function. */
  onChange(listener: (next: ProxyConfig, previous: ProxyConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
