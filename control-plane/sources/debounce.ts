/**
 * Coalesces bursts of watch events into one snapshot: a trailing timer that restarts on every
 * event, capped by `maxWaitMs` so a steady trickle of events cannot postpone the snapshot forever.
 */

/** A debounced trigger. */
export interface Debouncer {
  /** Asks for a run; runs `delayMs` after the last call, or `maxWaitMs` after the first pending one. */
  trigger(): void;
  /** Runs now if a run is pending. */
  flush(): void;
  /** Drops any pending run. */
  cancel(): void;
}

/** Creates a debouncer around `run`. */
export function debounce(run: () => void, delayMs: number, maxWaitMs = delayMs * 10): Debouncer {
  let timer: NodeJS.Timeout | undefined;
  let firstPendingAt = 0;
  const fire = () => {
    timer = undefined;
    firstPendingAt = 0;
    run();
  };
  return {
    trigger() {
      const now = Date.now();
      if (firstPendingAt === 0) firstPendingAt = now;
      if (timer) clearTimeout(timer);
      const wait = Math.max(0, Math.min(delayMs, firstPendingAt + maxWaitMs - now));
      timer = setTimeout(fire, wait);
    },
    flush() {
      if (!timer) return;
      clearTimeout(timer);
      fire();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      firstPendingAt = 0;
    },
  };
}
