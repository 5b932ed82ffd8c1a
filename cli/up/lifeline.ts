/**
 * `weft up` dying, even by SIGKILL, takes its children with it. Node has no PR_SET_PDEATHSIG, so two
 * watches stand in for it: a reaper process that holds a pipe from `weft up` and SIGKILLs every child's
 * process group when that pipe closes, and (in weft's own entries) `exitWithParent()`, which exits
 * when the child's stdin pipe from `weft up` closes or its parent pid changes.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Env var weft up sets on the children that hold a lifeline on stdin. */
export const LIFELINE_ENV = 'WEFT_UP_LIFELINE';

/**
 * The reaper, run as `node -e`: reads `+<pid>` / `-<pid>` lines; on EOF (weft up gone or done) or a
 * changed parent pid it SIGKILLs each listed process group (each child leads its own), then exits.
 */
const REAPER_SOURCE = `
const pids = new Set(); const parent = process.ppid; let buf = '';
const reap = () => { for (const p of pids) { try { process.kill(-p, 'SIGKILL'); } catch { try { process.kill(p, 'SIGKILL'); } catch {} } } process.exit(0); };
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { const m = /^([+-])(\\d+)$/.exec(buf.slice(0, i)); buf = buf.slice(i + 1); if (m) { if (m[1] === '+') pids.add(Number(m[2])); else pids.delete(Number(m[2])); } } });
process.stdin.on('end', reap); process.stdin.on('error', reap);
setInterval(() => { if (process.ppid !== parent) reap(); }, 500);
process.on('SIGINT', () => undefined); process.on('SIGTERM', reap);
`;

/** The reaper of one `weft up`: `watch(pid)` when a child starts, `forget(pid)` when it has exited. */
export class Reaper {
  readonly proc: ChildProcess;

  constructor() {
    // its own process group, so a group kill of weft up (or the terminal's Ctrl-C) does not take it first
    this.proc = spawn(process.execPath, ['-e', REAPER_SOURCE], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.proc.unref();
    this.proc.stdin!.on('error', () => undefined);
    (this.proc.stdin as unknown as { unref?: () => void }).unref?.();
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  watch(pid: number | undefined): void {
    if (pid !== undefined && this.proc.stdin?.writable) this.proc.stdin.write(`+${pid}\n`);
  }

  forget(pid: number | undefined): void {
    if (pid !== undefined && this.proc.stdin?.writable) this.proc.stdin.write(`-${pid}\n`);
  }

  /** Ends the pipe; the reaper kills what is still listed (nothing, after a clean stop) and exits. */
  close(): void {
    this.proc.stdin?.end();
  }
}

/**
 * In a child entry started by `weft up` (LIFELINE_ENV set): exit with `code` as soon as the stdin pipe
 * from weft up closes or the parent pid changes (weft up died; there is nobody to serve).
 */
export function exitWithParent(onGone: () => void = () => process.exit(1)): void {
  if (process.env[LIFELINE_ENV] !== '1') return;
  const parent = process.ppid;
  let gone = false;
  const fire = () => {
    if (gone) return;
    gone = true;
    onGone();
  };
  process.stdin.on('end', fire);
  process.stdin.on('close', fire);
  process.stdin.on('error', fire);
  process.stdin.resume();
  setInterval(() => { if (process.ppid !== parent) fire(); }, 500).unref();
}
