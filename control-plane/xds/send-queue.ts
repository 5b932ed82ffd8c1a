/**
 * Backpressure for ADS writes. Each stream writes one response at a time (the next waits for gRPC's
 * write callback, i.e. for HTTP/2 flow control to take the bytes), and a server-wide byte budget
 * caps how many responses are being copied into gRPC frames at once, so 1,000 streams pushed together
 * hold references to shared response bytes instead of 1,000 private copies. A queued response the stream
 * has since replaced with a newer version of the same type is dropped unsent.
 */
import type { OutgoingResponse } from './wire';

/** Server-wide budget of response bytes being written (framed by gRPC and handed to HTTP/2). */
export class SendBudget {
  private inFlight = 0;
  private readonly waiting: Array<{ size: number; grant: (release: () => void) => void }> = [];

  /**
   * @param maxBytes bytes that may be in flight at once; one response always passes when nothing is.
   * @param stallMs after this long a grant whose write has not completed (a client not reading) stops
   *   counting, so one stuck peer cannot stall every other stream; it still holds its one response.
   */
  constructor(readonly maxBytes: number, private readonly stallMs = 1000) {}

  /** Bytes currently counted as in flight. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  /** Streams waiting for room. */
  get waiters(): number {
    return this.waiting.length;
  }

  /** Calls `grant(release)` once `size` bytes fit (at once if they do), first come first served. */
  acquire(size: number, grant: (release: () => void) => void): void {
    this.waiting.push({ size, grant });
    this.wake();
  }

  private take(size: number): () => void {
    this.inFlight += size;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.inFlight -= size;
      this.wake();
    };
    const timer = setTimeout(release, this.stallMs);
    timer.unref();
    return release;
  }

  private waking = false;

  private wake(): void {
    if (this.waking) return; // a grant released synchronously: the loop below continues
    this.waking = true;
    try {
      while (this.waiting.length && (this.inFlight === 0 || this.inFlight + this.waiting[0].size <= this.maxBytes)) {
        const w = this.waiting.shift()!;
        w.grant(this.take(w.size));
      }
    } finally {
      this.waking = false;
    }
  }
}

/** Something responses can be written to with a completion callback (a grpc-js server stream). */
export interface ResponseSink {
  write(r: OutgoingResponse, cb: (err?: Error | null) => void): unknown;
}

/** The per-stream write queue. */
export class StreamWriter {
  private readonly queue: OutgoingResponse[] = [];
  private busy = false;
  private release: (() => void) | undefined;
  private closed = false;

  constructor(private readonly sink: ResponseSink, private readonly budget: SendBudget) {}

  /** Responses queued and not yet handed to gRPC. */
  get queued(): number {
    return this.queue.length;
  }

  /** Queues `r`; earlier queued responses of the same type with another version are obsolete and dropped. */
  send(r: OutgoingResponse): void {
    if (this.closed) return;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i];
      if (q.typeUrl === r.typeUrl && q.version !== r.version) this.queue.splice(i, 1);
    }
    this.queue.push(r);
    this.pump();
  }

  /** Stops writing (the stream ended): queued responses are dropped and the budget is given back. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.release?.();
    this.release = undefined;
  }

  // busy: waiting for budget or for gRPC's write callback; one response at a time per stream.
  private pump(): void {
    if (this.busy || this.closed || !this.queue.length) return;
    this.busy = true;
    // The grant is sized by the head of the queue now; if that response is replaced meanwhile the
    // accounting is off by the difference for one write, which is fine for a memory budget.
    this.budget.acquire(this.queue[0].bytes.length, (release) => {
      const r = this.queue.shift();
      if (this.closed || !r) { this.busy = false; release(); return; }
      this.release = release;
      this.sink.write(r, () => {
        this.busy = false;
        this.release = undefined;
        release();
        this.pump();
      });
    });
  }
}
