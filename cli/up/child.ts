/**
 * The children of `weft up` (apps, sidecars, the control plane): spawned with their output in
 * `.weft/logs/<name>.log`, watched for an early exit, stopped with SIGTERM then SIGKILL after a
 * grace period. Readiness is polled over HTTP/TCP, never slept for.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, WriteStream } from 'node:fs';
import * as http from 'node:http';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { UP_ERRORS, UpError } from './errors';
import { LIFELINE_ENV, type Reaper } from './lifeline';

/** How to start a child. */
export interface ChildSpec {
  /** Name in logs and errors (`ratings-v1-0`, `ratings-v1-0.proxy`, `control-plane`). */
  readonly name: string;
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Output goes here (appended). */
  readonly logFile: string;
  /** Hold a pipe on the child's stdin (and set WEFT_UP_LIFELINE=1): weft's own entries exit when it closes. @default false */
  readonly lifeline?: boolean;
  /** Told the child's pid, so the child's process group dies with `weft up` even after a SIGKILL. @default none */
  readonly reaper?: Reaper;
}

/** A running child process. */
export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit?: { code: number | null; signal: NodeJS.Signals | null };
  readonly #log: WriteStream;
  readonly #lineWaiters = new Set<(line: string) => void>();
  #stopping = false;

  constructor(spec: ChildSpec) {
    this.name = spec.name;
    this.#log = createWriteStream(spec.logFile, { flags: 'a' });
    this.#log.write(`--- ${new Date().toISOString()} start: ${spec.argv.join(' ')}\n`);
    // each child leads its own process group: the terminal's Ctrl-C reaches only weft up, which stops
    // the children in order, and a signal to the group reaches whatever the child started itself
    this.proc = spawn(spec.argv[0], spec.argv.slice(1), {
      cwd: spec.cwd, env: { ...process.env, ...spec.env, ...(spec.lifeline ? { [LIFELINE_ENV]: '1' } : {}) },
      stdio: [spec.lifeline ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true,
    });
    this.proc.stdin?.on('error', () => undefined);
    spec.reaper?.watch(this.proc.pid);
    this.proc.stderr!.pipe(this.#log, { end: false });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      this.#log.write(`${line}\n`);
      for (const w of this.#lineWaiters) w(line);
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('error', (e) => {
        this.#log.write(`--- spawn error: ${e.message}\n`);
        this.#exit = { code: -1, signal: null };
        resolve(this.#exit);
      });
      this.proc.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        spec.reaper?.forget(this.proc.pid);
        this.#log.write(`--- exited: code ${code} signal ${signal}\n`);
        resolve(this.#exit);
      });
    });
  }

  /** Pid of the process. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Whether `stop()` was asked for (so an exit is expected). */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Resolves with the first stdout line `pick` accepts (JSON lines are parsed); rejects on exit or timeout. */
  waitForJsonLine<T>(pick: (value: Record<string, unknown>) => T | undefined, timeoutMs: number): Promise<T> {
    return this.#until(new Promise<T>((resolve) => {
      const w = (line: string) => {
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch {
          return;
        }
        const got = v && typeof v === 'object' ? pick(v as Record<string, unknown>) : undefined;
        if (got !== undefined) {
          this.#lineWaiters.delete(w);
          resolve(got);
        }
      };
      this.#lineWaiters.add(w);
    }), timeoutMs, 'printing its ready line');
  }

  /** Resolves once `probe()` returns true (polled every 50 ms); rejects if the child exits or time runs out. */
  waitUntil(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    let done = false;
    const loop = (async () => {
      while (!done) {
        if (await probe().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return this.#until(loop, timeoutMs, what).finally(() => {
      done = true;
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once exited. */
  async stop(graceMs = 8000): Promise<void> {
    this.#stopping = true;
    if (!this.running) return;
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
    this.#log.end();
  }

  /** SIGKILL now (a crash, for failure tests); resolves once exited. */
  async kill(): Promise<void> {
    this.#stopping = true;
    if (this.running) this.signal('SIGKILL');
    await this.exited;
    this.#log.end();
  }

  /** Sends `sig` to the child's process group (the child and what it started), else to the child. */
  signal(sig: NodeJS.Signals): void {
    const pid = this.proc.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(-pid, sig);
    } catch {
      this.proc.kill(sig);
    }
  }

  #until<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (why: string) => reject(new UpError(UP_ERRORS.child, `${this.name} ${why} while ${what}; see its log`));
      const t = setTimeout(() => fail(`took longer than ${timeoutMs} ms`), timeoutMs);
      void this.exited.then((e) => fail(`exited (code ${e.code}, signal ${e.signal})`));
      p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
    });
  }
}

/** GET `url`; true on a 2xx. */
export function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** True when `host:port` accepts a TCP connection. */
export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
