/**
 * The snapshot cache: holds the current mesh model and renders it lazily once per client key
 * (all proxyless clients share one rendering; sidecars share one per service). A model that fails
 * to translate or encode keeps the last good snapshot of that key and records why.
 */
import type { MeshModel } from '../../api/model';
import { ClientKind, translate, XdsResources } from '../../api/translate';
import { buildSnapshot, EncodeCache, Snapshot } from './snapshot';

/** Cache key of a client: what its rendering depends on. */
export function clientKey(client: ClientKind): string {
  return client.kind === 'proxyless' ? 'proxyless' : `sidecar:${client.node.namespace}/${client.node.service}`;
}

/** A rendering failure, kept for the status API. */
export interface RenderError {
  readonly key: string;
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

/** Turns the model into resources for one client. */
export type Renderer = (model: MeshModel, client: ClientKind) => XdsResources;

/** Current model → per-client snapshots. */
export class SnapshotCache {
  /** @param render the renderer; `translate` unless a test or experiment wraps it. */
  constructor(private readonly render: Renderer = translate) {}

  private model: MeshModel | undefined;
  private readonly current = new Map<string, Snapshot>();
  private readonly lastGood = new Map<string, Snapshot>();
  private readonly failures = new Map<string, RenderError>();
  private readonly subscribers = new Set<() => void>();
  private generationValue = 0;
  private readonly encoded = new EncodeCache();

  /** Replaces the model; every subscriber is told so connected streams can push. */
  setModel(model: MeshModel): void {
    this.model = model;
    this.generationValue++;
    this.current.clear();
    this.encoded.rotate();
    for (const fn of [...this.subscribers]) fn();
  }

  /** Whether a model has been set yet (streams wait for the first one). */
  hasModel(): boolean {
    return this.model !== undefined;
  }

  /** Increments on every setModel(). */
  get generation(): number {
    return this.generationValue;
  }

  /** The snapshot for `client`, or undefined before the first model / first good rendering. */
  get(client: ClientKind): Snapshot | undefined {
    if (!this.model) return undefined;
    const key = clientKey(client);
    const hit = this.current.get(key);
    if (hit) return hit;
    try {
      const snap = buildSnapshot(this.render(this.model, client), this.encoded);
      this.current.set(key, snap);
      this.lastGood.set(key, snap);
      this.failures.delete(key);
      return snap;
    } catch (e) {
      const err = e as { code?: string; message?: string };
      this.failures.set(key, { key, code: err.code ?? 'WEFT_ERR_TRANSLATE', message: err.message ?? String(e), at: new Date().toISOString() });
      const last = this.lastGood.get(key);
      if (last) this.current.set(key, last);
      return last;
    }
  }

  /** Rendering failures by client key (cleared when the key renders again). */
  errors(): RenderError[] {
    return [...this.failures.values()];
  }

  /** Calls `fn` after every setModel(); returns an unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}
