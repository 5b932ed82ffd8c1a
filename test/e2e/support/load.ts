/**
 * Bounded HTTP load for the e2e tests: a fixed number of requests at a fixed concurrency, or a
 * background loop stopped by the test; every response (or error) is kept for assertions.
 */
import * as http from 'node:http';

/** One finished request. */
export interface Outcome {
  readonly at: number;
  readonly status: number;
  readonly body: string;
  readonly error?: string;
  readonly weftError?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** GET `url` once. */
export function get(url: string, headers: Record<string, string> = {}, fresh = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: fresh ? false : agent, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ at: Date.now(), status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), weftError: res.headers['weft-error'] as string | undefined }));
      res.on('error', (e) => resolve({ at: Date.now(), status: 0, body: '', error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ at: Date.now(), status: 0, body: '', error: e.message }));
  });
}

/** `total` GETs, `concurrency` at a time. */
export async function runLoad(url: string, total: number, concurrency: number, headers: Record<string, string> = {}): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++;
      out.push(await get(url, headers));
    }
  }));
  return out;
}

/** A background load loop: `stop()` resolves with every outcome. */
export function backgroundLoad(url: string, concurrency: number, headers: Record<string, string> = {}, maxRequests = 20_000): { stop(): Promise<Outcome[]>; count(): number; peek(): readonly Outcome[] } {
  const out: Outcome[] = [];
  let running = true;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running && out.length < maxRequests) out.push(await get(url, headers));
  });
  return {
    count: () => out.length,
    peek: () => out,
    async stop() {
      running = false;
      await Promise.all(workers);
      return out;
    },
  };
}

/** The reviews version a productpage response came from ('' when none). */
export function reviewsVersion(o: Outcome): string {
  try {
    return (JSON.parse(o.body) as { reviews?: { version?: string } }).reviews?.version ?? '';
  } catch {
    return '';
  }
}

/** Whether a productpage response is a full success (200, and ratings answered when v2 asked). */
export function fullSuccess(o: Outcome): boolean {
  if (o.status !== 200) return false;
  try {
    const b = JSON.parse(o.body) as { reviews?: { version?: string; reviews?: { stars?: unknown }[] } };
    if (b.reviews?.version === 'v2') return (b.reviews.reviews ?? []).every((r) => typeof r.stars === 'number');
    return true;
  } catch {
    return false;
  }
}

/** Closes the shared agent (afterAll). */
export function closeLoadAgent(): void {
  agent.destroy();
}
