/** Body helpers shared by layers: run a callback once a response body is finished, or drop it. */
import { finished } from 'node:stream';
import type { ProxyResponse } from './types';

/**
 * Calls `done` once, when the response body has ended, failed or been destroyed (immediately when
 * there is no body). Limits and load counters release here, not at response headers.
 */
export function onBodyDone(res: ProxyResponse, done: (err?: Error) => void): void {
  let called = false;
  const once = (err?: Error | null) => {
    if (called) return;
    called = true;
    done(err ?? undefined);
  };
  if (!res.body) return once();
  if (res.body.destroyed || res.body.readableEnded) return once();
  finished(res.body, { readable: true, writable: false }, once);
}

/** Throws away a response we will not forward (a retried try), freeing its connection. */
export function discard(res: ProxyResponse): void {
  if (!res.body) return;
  res.body.on('error', () => undefined);
  res.body.resume();
}
