/**
 * Supervision of `weft up`'s children with real processes: the CrashLoopBackOff schedule, a crashed
 * child restarted (restart count, state changes), a child that keeps failing backs off, `stop()`
 * ends the restarts; the lifeline: a child entry exits when weft up's pipe closes. And `weft stat`
 * counts a replica its supervisor says is down as not meshed, though its sidecar still answers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from '../../cli/up/child';
import { LIFELINE_ENV } from '../../cli/up/lifeline';
import { scrape, statRows } from '../../cli/up/stat';
import { nextBackoffMs, Supervised, type UnitStatus } from '../../cli/up/supervise';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'weft-supervise-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Polls until `f()` holds (bounded number of 20 ms polls). */
async function until(what: string, f: () => boolean, tries = 1500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const sleeper = (name: string) => new Child({ name, argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], logFile: join(dir, `${name}.log`) });

test('backoff: 1 s, 2 s, 4 s … capped at maxMs', () => {
  const seq: number[] = [];
  let d: number | undefined;
  for (let i = 0; i < 8; i++) seq.push((d = nextBackoffMs(d)));
  expect(seq).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  expect(nextBackoffMs(undefined, { initialMs: 10 })).toBe(10);
  expect(nextBackoffMs(40, { maxMs: 50 })).toBe(50);
});

test('a SIGKILLed child is restarted after the backoff, counted, and reported; stop() ends it for good', async () => {
  const changes: UnitStatus[] = [];
  const unit = new Supervised({ name: 'sleeper', start: async () => sleeper('sleeper'), backoff: { initialMs: 20 }, onChange: (s) => changes.push(s) });
  const first = await unit.first();
  expect(unit.status()).toMatchObject({ state: 'running', restarts: 0, pid: first.pid });
  await unit.crash();
  await until('restarted', () => unit.state === 'running' && unit.restarts === 1);
  expect(unit.child.pid).not.toBe(first.pid);
  expect(changes.map((c) => c.state)).toEqual(['running', 'backoff', 'starting', 'running']);
  expect(unit.status().lastExit).toBe('signal SIGKILL');
  const second = unit.child;
  await unit.stop();
  expect(second.running).toBe(false);
  expect(unit.state).toBe('stopped');
  expect(unit.restarts).toBe(1);
});

test('a run that lasted resetAfterMs starts the schedule over; a short one doubles the delay', async () => {
  const events: string[] = [];
  const reset = new Supervised({ name: 'steady', start: async () => sleeper('steady'), backoff: { initialMs: 20, resetAfterMs: 0 }, onEvent: (m) => events.push(m) });
  const short = new Supervised({ name: 'short', start: async () => sleeper('short'), backoff: { initialMs: 20, resetAfterMs: 60_000 }, onEvent: (m) => events.push(m) });
  for (const u of [reset, short]) {
    await u.first();
    for (let i = 1; i <= 2; i++) {
      await u.crash();
      await until(`${u.name} restart ${i}`, () => u.state === 'running' && u.restarts === i);
    }
    await u.stop();
  }
  expect(events.filter((e) => e.includes('restarting in')).map((e) => /^(\w+) .* in ([\d.]+)s/.exec(e)!.slice(1).join(' '))).toEqual(['steady 0.02', 'steady 0.02', 'short 0.02', 'short 0.04']);
});

test('a child that keeps failing to start backs off and keeps counting; restartNow() skips the wait', async () => {
  let fail = true;
  let attempts = 0;
  const unit = new Supervised({
    name: 'flaky', backoff: { initialMs: 20, maxMs: 80 },
    start: async () => {
      attempts++;
      if (fail && attempts > 1) throw new Error('not ready');
      return sleeper('flaky');
    },
  });
  await unit.first();
  await unit.crash();
  await until('three failed restarts', () => unit.restarts >= 3);
  expect(unit.state === 'backoff' || unit.state === 'starting').toBe(true);
  fail = false;
  await unit.restartNow();
  await unit.waitRunning(10_000);
  expect(unit.state).toBe('running');
  await unit.stop();
});

test('lifeline: a child entry with WEFT_UP_LIFELINE exits when the pipe from its parent closes', async () => {
  // the entry's watch, as cli/up/entries/*.ts install it
  const src = `require(${JSON.stringify(join(__dirname, '..', '..', 'cli', 'up', 'lifeline.ts'))}).exitWithParent(() => process.exit(7)); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', src], { stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, [LIFELINE_ENV]: '1' } });
  const code = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  // alive while the pipe is open: it reads nothing and exits only on EOF
  child.stdin!.write('x');
  child.stdin!.end();
  expect(await code).toBe(7);
});

test('stat: a replica its supervisor reports down is not meshed even when its sidecar answers; restarts are summed', async () => {
  const server = http.createServer((_req, res) => res.end('weft_proxy_requests_total{direction="inbound",status_code="200"} 5\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const base = { service: 'ratings', namespace: 'bookinfo', version: 'v1', admin };
    const sample = await scrape([{ ...base, id: 'ratings-v1-0', state: 'running', restarts: 0 }, { ...base, id: 'ratings-v1-1', state: 'down', restarts: 2 }]);
    const [row] = statRows(new Map(), sample, 1);
    expect(row).toMatchObject({ up: 1, replicas: 2, restarts: 2, rps: 10 });
  } finally {
    server.close();
  }
});
