/**
 * A request body that can be sent more than once (linkerd2-proxy `ReplayBody`): the first try
 * streams the source while a copy is kept; a retry replays the copy and then continues with the
 * rest of the source. Past `cap` bytes the copy is dropped and the body can no longer be replayed,
 * so large uploads stream without buffering and are simply not retried.
 */
import { Readable } from 'node:stream';

/** The replay buffer cap: bodies larger than this are not retried. */
export const DEFAULT_REPLAY_CAP = 64 * 1024;

export class ReplayBody {
  readonly #source: Readable;
  readonly #cap: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #overflowed = false;
  #ended = false;
  #error?: Error;
  #current?: Readable;
  #attempts = 0;

  constructor(source: Readable, cap = DEFAULT_REPLAY_CAP) {
    this.#source = source;
    this.#cap = cap;
    source.pause();
    source.on('data', (chunk: Buffer | string) => this.#onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    source.on('end', () => {
      this.#ended = true;
      this.#current?.push(null);
    });
    source.on('error', (err) => {
      this.#error = err;
      this.#current?.destroy(err);
    });
  }

  /** Whether another try can get the whole body (nothing was dropped past the cap). */
  get replayable(): boolean {
    return !this.#overflowed;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  #onData(chunk: Buffer): void {
    this.#size += chunk.length;
    if (!this.#overflowed) {
      if (this.#size > this.#cap) {
        this.#overflowed = true;
        this.#chunks = [];
      } else this.#chunks.push(chunk);
    }
    const cur = this.#current;
    if (cur && !cur.push(chunk)) this.#source.pause();
    if (!cur) this.#source.pause();
  }

  /**
   * A fresh stream of the whole body for the next try; detaches the previous try's stream. Throws
   * when the body overflowed the cap after a try already consumed part of it.
   */
  attempt(): Readable {
    if (this.#attempts > 0 && this.#overflowed) throw new Error('request body exceeded the replay buffer');
    this.#attempts++;
    const prev = this.#current;
    const stream = new Readable({
      read: () => {
        if (this.#current === stream && !this.#ended) this.#source.resume();
      },
    });
    this.#current = stream;
    if (prev && !prev.destroyed) prev.destroy();
    for (const c of this.#chunks) stream.push(c);
    if (this.#error) stream.destroy(this.#error);
    else if (this.#ended) stream.push(null);
    return stream;
  }
}
