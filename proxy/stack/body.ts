/** Body helpers shared by layers: run a callback once a response body is finished, or drop it. */
import { finished } from 'node:stream';
import type { Readable } from 'node:stream';
import type { ProxyResponse } from './types';

type Done = (err?: Error) => void;

/**
 * The callbacks waiting on one body. Several layers (observe, limits, balancer, timeout, retry)
 * wait on the same body; one `finished()` per body fans out to all of them, because each
 * `finished()` adds its own set of stream listeners and that was measurable per request.
 */
const waiting = new WeakMap<Readable, Done[]>();

/**
 * Calls `done` once, when the response body has ended, failed or been destroyed (immediately when
 * there is no body). Limits and load counters release here, not at response headers. Callbacks
 * on one body run in the order they were registered.
 */
export function onBodyDone(res: ProxyResponse, done: Done): void {
  const body = res.body;
  if (!body || body.destroyed || body.readableEnded) return done();
  const list = waiting.get(body);
  if (list) {
    list.push(done);
    return;
  }
  const cbs: Done[] = [done];
  waiting.set(body, cbs);
  finished(body, { readable: true, writable: false }, (err) => {
    waiting.delete(body);
    const e = err ?? undefined;
    for (const cb of cbs) cb(e);
  });
}

/** Throws away a response we will not forward (a retried try), freeing its connection. */
export function discard(res: ProxyResponse): void {
  if (!res.body) return;
  res.body.on('error', () => undefined);
  res.body.resume();
}
