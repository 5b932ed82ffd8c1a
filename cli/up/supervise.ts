/**
 * Restarts a `weft up` child that exits without being asked to, with the kubelet's CrashLoopBackOff
 * schedule: 1 s, 2 s, 4 s … capped, back to 1 s once a run has lasted `resetAfterMs`. Counts restarts
 * (shown by `weft stat`) and reports every state change, so callers can take a replica out of the
 * endpoints while it is down and put it back once it is ready again.
 */
import type { Child } from './child';

/** The restart schedule. */
export interface BackoffPolicy {
  /** Delay before the first restart. @default 1000 */
  readonly initialMs?: number;
  /** Longest delay (the kubelet's is 5 min; a local mesh wants its parts back sooner). @default 30000 */
  readonly maxMs?: number;
  /** A run at least this long resets the delay to `initialMs` (the kubelet uses 10 min). @default 60000 */
  readonly resetAfterMs?: number;
}

/** Where a supervised child is. */
export type UnitState = 'starting' | 'running' | 'backoff' | 'stopped';

/** What a unit reports on every change. */
export interface UnitStatus {
  readonly name: string;
  readonly state: UnitState;
  readonly restarts: number;
  readonly pid?: number;
  /** How the last run ended (`code 1`, `signal SIGKILL`), once one has. */
  readonly lastExit?: string;
}

/** Options of Supervised. */
export interface SupervisedOptions {
  readonly name: string;
  /** Starts the child and resolves once it is ready (rejects when it is not). */
  readonly start: () => Promise<Child>;
  readonly backoff?: BackoffPolicy;
  /** Called on every state change. @default none */
  readonly onChange?: (status: UnitStatus) => void;
  /** Called with a line for the console on every crash and restart. @default none */
  readonly onEvent?: (msg: string) => void;
}

/** Next delay after `previousMs` (exported for tests): doubles up to `maxMs`. */
export function nextBackoffMs(previousMs: number | undefined, policy: BackoffPolicy = {}): number {
  const initial = policy.initialMs ?? 1000;
  const max = policy.maxMs ?? 30_000;
  return previousMs === undefined ? initial : Math.min(max, previousMs * 2);
}

/** One child kept running: started once by `first()`, restarted after every unexpected exit until `stop()`. */
export class Supervised {
  readonly name: string;
  #child?: Child;
  #state: UnitState = 'starting';
  #restarts = 0;
  #delayMs?: number;
  #startedAt = 0;
  #lastExit?: string;
  #timer?: NodeJS.Timeout;
  #stopped = false;
  #starting?: Promise<void>;
  readonly #opts: SupervisedOptions;

  constructor(opts: SupervisedOptions) {
    this.name = opts.name;
    this.#opts = opts;
  }

  /** The current child (the last one started). */
  get child(): Child {
    if (!this.#child) throw new Error(`${this.name} has not started`);
    return this.#child;
  }

  get state(): UnitState {
    return this.#state;
  }

  get restarts(): number {
    return this.#restarts;
  }

  status(): UnitStatus {
    return { name: this.name, state: this.#state, restarts: this.#restarts, pid: this.#child?.running ? this.#child.pid : undefined, ...(this.#lastExit ? { lastExit: this.#lastExit } : {}) };
  }

  /** The first start: a failure here is the caller's (weft up stops), not a crash loop. */
  async first(): Promise<Child> {
    const child = await this.#opts.start();
    this.#adopt(child);
    return child;
  }

  /** Starts it now, skipping any backoff wait (stops a running child first); resolves once ready. */
  async restartNow(): Promise<void> {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#starting) return this.#starting;
    if (this.#child?.running) {
      const old = this.#child;
      this.#child = undefined;
      await old.stop();
    }
    await this.#restart();
  }

  /** Resolves once the unit is `running` again (or stopped); polls its own state, bounded by `timeoutMs`. */
  async waitRunning(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.#state !== 'running' && !this.#stopped) {
      if (Date.now() > until) throw new Error(`${this.name} not running after ${timeoutMs} ms (state ${this.#state})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** No more restarts; stops the child gracefully. */
  async stop(graceMs?: number): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#starting?.catch(() => undefined);
    await this.#child?.stop(graceMs);
    this.#set('stopped');
  }

  /** SIGKILL the current child (a crash: it is restarted like any other). */
  async crash(): Promise<void> {
    const c = this.#child;
    if (c?.running) {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
  }

  #adopt(child: Child): void {
    this.#child = child;
    this.#startedAt = Date.now();
    this.#set('running');
    void child.exited.then((e) => {
      if (this.#child !== child || this.#stopped || child.stopping) return;
      this.#lastExit = e.signal ? `signal ${e.signal}` : `code ${e.code}`;
      this.#crashed();
    });
  }

  #crashed(): void {
    // a run that lasted resetAfterMs starts the schedule over, as the kubelet does
    if (Date.now() - this.#startedAt >= (this.#opts.backoff?.resetAfterMs ?? 60_000)) this.#delayMs = undefined;
    this.#delayMs = nextBackoffMs(this.#delayMs, this.#opts.backoff);
    this.#set('backoff');
    this.#opts.onEvent?.(`${this.name} exited (${this.#lastExit ?? '?'}); restarting in ${this.#delayMs / 1000}s (restart ${this.#restarts + 1})`);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#restart();
    }, this.#delayMs);
  }

  #restart(): Promise<void> {
    this.#starting = (async () => {
      this.#restarts++;
      this.#set('starting');
      try {
        const child = await this.#opts.start();
        if (this.#stopped) {
          await child.stop();
          return;
        }
        this.#adopt(child);
        this.#opts.onEvent?.(`${this.name} is back (restart ${this.#restarts})`);
      } catch (e) {
        if (this.#stopped) return;
        this.#lastExit = (e as Error).message;
        this.#startedAt = Date.now();
        this.#crashed();
      }
    })().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  #set(state: UnitState): void {
    this.#state = state;
    this.#opts.onChange?.(this.status());
  }
}
