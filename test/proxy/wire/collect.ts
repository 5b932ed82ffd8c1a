/** A StreamHandler that collects what a stream receives and resolves when it ends or fails. */
import type { WireError } from '../../../proxy/wire/frames';
import type { StreamHandler } from '../../../proxy/wire/stream';

export class Collector implements StreamHandler {
  head: string[] | undefined;
  readonly chunks: Buffer[] = [];
  trailers: string[] | undefined;
  error: WireError | undefined;
  drains = 0;
  ended = false;
  readonly done: Promise<void>;
  #resolve!: () => void;
  onDrainHook: (() => void) | undefined;
  onDataHook: ((c: Buffer) => void) | undefined;

  constructor() {
    this.done = new Promise((r) => (this.#resolve = r));
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get bytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  onHeaders(fields: string[]): void {
    this.head = fields;
  }
  onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.onDataHook?.(chunk);
  }
  onTrailers(fields: string[]): void {
    this.trailers = fields;
  }
  onEnd(): void {
    this.ended = true;
    this.#resolve();
  }
  onDrain(): void {
    this.drains++;
    this.onDrainHook?.();
  }
  onError(err: WireError): void {
    this.error = err;
    this.#resolve();
  }
}
