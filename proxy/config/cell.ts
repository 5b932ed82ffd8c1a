/**
 * Holds the current ProxyConfig. Stacks read it once per request (so one request sees one
 * snapshot) and the xDS client swaps it atomically between requests; listeners reconcile state.
 */
import { type ResourceError, type XdsResources, emptyConfig, parseXdsResources } from './parse';
import type { ProxyConfig } from './types';

/** Options of a ConfigCell. */
export interface ConfigCellOptions {
  /**
   * Applied to every config before it is installed (e.g. the local app ports, `remapAppPorts`);
   * must be idempotent, since the xDS client parses updates on top of the installed config.
   * @default - none
   */
  readonly transform?: (config: ProxyConfig) => ProxyConfig;
}

/** A swappable reference to the current config, with change listeners. */
export class ConfigCell {
  #current: ProxyConfig;
  readonly #listeners = new Set<(next: ProxyConfig, previous: ProxyConfig) => void>();
  readonly #transform?: (config: ProxyConfig) => ProxyConfig;

  constructor(initial: ProxyConfig = emptyConfig(), opts: ConfigCellOptions = {}) {
    this.#transform = opts.transform;
    this.#current = this.#transform ? this.#transform(initial) : initial;
  }

  /** The config new requests use. */
  get(): ProxyConfig {
    return this.#current;
  }

  /** Installs `next` for every request that starts from now on; in-flight requests keep theirs. */
  set(next: ProxyConfig): void {
    const previous = this.#current;
    this.#current = this.#transform ? this.#transform(next) : next;
    for (const l of this.#listeners) l(this.#current, previous);
  }

  /** Calls `listener` after every swap; returns the unsubscribe function. */
  onChange(listener: (next: ProxyConfig, previous: ProxyConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * What the xDS client calls per response: parse `input` on top of the current config, install the
 * result (valid resources applied, rejected ones at their last good version, gRFC A46) and return
 * the rejected resources; NACK with `nackMessage(errors)` when the list is not empty.
 */
export function applyXds(cell: ConfigCell, input: XdsResources, version: string): readonly ResourceError[] {
  const { config, errors } = parseXdsResources(input, cell.get(), version);
  cell.set(config);
  return errors;
}
