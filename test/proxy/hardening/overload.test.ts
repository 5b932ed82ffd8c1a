/** The overload monitors: event-loop lag trips shedding, recovery clears it. */
import { OverloadManager } from '../../../proxy/http/overload';

test('a blocked event loop trips the lag monitor, and it clears once the loop is healthy', async () => {
  const m = new OverloadManager({ maxEventLoopDelayMs: 100, sampleIntervalMs: 50 });
  try {
    expect(m.reason()).toBeUndefined();
    // GIVEN the loop is blocked for 300 ms
    await new Promise((r) => setTimeout(r, 30));
    const until = Date.now() + 300;
    while (Date.now() < until) { /* busy: the event loop cannot run */ }
    // WHEN the monitor next samples THEN it reports the lag
    let reason: string | undefined;
    for (let i = 0; i < 50 && !reason; i++) {
      await new Promise((r) => setTimeout(r, 20));
      reason = m.reason();
    }
    expect(reason).toMatch(/^event-loop delay \d+ms$/);
    // AND after a healthy interval it clears
    let cleared = false;
    for (let i = 0; i < 100 && !cleared; i++) {
      await new Promise((r) => setTimeout(r, 20));
      cleared = m.reason() === undefined;
    }
    expect(cleared).toBe(true);
  } finally {
    m.close();
  }
});

test('heap threshold: a limit below the current use sheds', async () => {
  const m = new OverloadManager({ maxHeapFraction: 0.000001, sampleIntervalMs: 10 });
  try {
    let reason: string | undefined;
    for (let i = 0; i < 50 && !reason; i++) {
      await new Promise((r) => setTimeout(r, 10));
      reason = m.reason();
    }
    expect(reason).toMatch(/^heap \d+% of limit$/);
  } finally {
    m.close();
  }
});
