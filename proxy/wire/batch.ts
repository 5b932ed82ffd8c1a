/**
 * Write batching for a `weft/1` connection: frames queued during one event-loop turn are written
 * together on the next `setImmediate` (cork, one write per buffer, uncork → one writev, few TLS
 * records). Tracks the socket's refusal (`blocked` until 'drain') and counts flushes.
 */
import type { Duplex } from 'node:stream';

/** Counters for metrics and tests. */
export interface BatchStats {
  /** Corked writes to the socket (one per event-loop turn with output). */
  flushes: number;
  /** Buffers written (frame heads, whole small frames, DATA payloads). */
  buffers: number;
}

/** The output queue of one socket. */
export class WriteBatch {
  readonly stats: BatchStats = { flushes: 0, buffers: 0 };
  /** The socket refused more bytes at the last flush; cleared by the owner on 'drain'. */
  blocked = false;
  #out: Buffer[] = [];
  #scheduled = false;
  readonly #socket: Duplex;
  readonly #flushBound = (): void => this.flush();

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  /** Queues a buffer for this turn's write. */
  push(buf: Buffer): void {
    this.#out.push(buf);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushBound);
    }
  }

  /** Writes everything queued now, corked (also called directly before an end). */
  flush(): void {
    this.#scheduled = false;
    const out = this.#out;
    this.#out = [];
    const sock = this.#socket;
    if (out.length === 0 || sock.destroyed || !sock.writable) return;
    sock.cork();
    let ok = true;
    for (const b of out) ok = sock.write(b);
    sock.uncork();
    this.stats.flushes++;
    this.stats.buffers += out.length;
    if (!ok) this.blocked = true;
  }
}
