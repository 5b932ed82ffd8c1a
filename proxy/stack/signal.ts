/**
 * The per-request "downstream went away" signal, without an AbortController. Node's
 * AbortController/AbortSignal (an EventTarget) was ~5 % of an HTTP/2 listener's CPU per request
 * plus GC; every user of `ProxyRequest.signal` only needs `aborted`, `reason` and 'abort'
 * listeners, which this provides. Layers that need a real signal (timeouts) still make one.
 */

type Listener = ((ev: { type: 'abort' }) => void) | { handleEvent(ev: { type: 'abort' }): void };

/** A minimal AbortSignal: `aborted`, `reason`, `onabort`, add/removeEventListener('abort'), throwIfAborted. */
class LightSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((ev: { type: 'abort' }) => void) | null = null;
  #listeners: Listener[] | undefined;

  addEventListener(type: string, listener: Listener | null, _opts?: unknown): void {
    if (type !== 'abort' || !listener || this.aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(type: string, listener: Listener | null): void {
    const l = this.#listeners;
    if (type !== 'abort' || !l || !listener) return;
    const i = l.indexOf(listener);
    if (i >= 0) l.splice(i, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** Fires once; listeners run in registration order and are dropped (they were all `once`). */
  fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new Error('aborted');
    const ev = { type: 'abort' as const };
    const l = this.#listeners;
    this.#listeners = undefined;
    this.onabort?.(ev);
    if (l) for (const f of l) typeof f === 'function' ? f(ev) : f.handleEvent(ev);
  }
}

/** The controller side: `abort(reason)` fires the signal once. Shaped like AbortController. */
export class RequestAbort {
  readonly #signal = new LightSignal();

  /** Duck-typed as AbortSignal for `ProxyRequest.signal` (aborted, reason, 'abort' listeners). */
  get signal(): AbortSignal {
    return this.#signal as unknown as AbortSignal;
  }

  abort(reason?: unknown): void {
    this.#signal.fire(reason);
  }
}
