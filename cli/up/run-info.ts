/**
 * `.weft/run.json`: what a running `weft up` wrote about itself, so `weft stat`, `weft config-dump`
 * and `weft proxy-status` in another terminal can find the proxies' admin ports and the control
 * plane. weft up rewrites it on every supervision change (a part down, back, restarted).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UP_ERRORS, UpError } from './errors';

/** File name inside the state directory. */
export const RUN_FILE = 'run.json';

/** The contents of run.json. */
export interface RunInfo {
  readonly pid: number;
  readonly startedAt: string;
  readonly distDir: string;
  readonly controlPlane: { readonly xds: string; readonly status: string } & Partial<SupervisedRunInfo>;
  readonly ingresses: readonly { readonly service: string; readonly namespace: string; readonly url: string }[];
  readonly proxies: readonly ProxyRunInfo[];
  /** Pid of the reaper that kills the children if weft up dies. */
  readonly reaperPid?: number;
}

/** Supervision facts of a part. */
export interface SupervisedRunInfo {
  /** `running`, or `down` while it is being restarted (or waits in backoff). */
  readonly state: 'running' | 'down';
  /** Times it was restarted after a crash. */
  readonly restarts: number;
  /** Pids of its current processes (absent while down). */
  readonly pids: Readonly<Record<string, number>>;
}

/** One proxy (a replica, or the ingress sidecar). */
export interface ProxyRunInfo extends Partial<SupervisedRunInfo> {
  readonly id: string;
  readonly service: string;
  readonly namespace: string;
  readonly version: string;
  readonly admin: string;
}

/** Reads run.json of `stateDir`; WEFT_ERR_UP_NOT_RUNNING when absent or its process is gone. */
export async function readRunInfo(stateDir = '.weft'): Promise<RunInfo> {
  const file = join(resolve(stateDir), RUN_FILE);
  let info: RunInfo;
  try {
    info = JSON.parse(await readFile(file, 'utf8')) as RunInfo;
  } catch {
    throw new UpError(UP_ERRORS.notRunning, `no running mesh: ${file} not found; start one with \`weft up\``, { exitCode: 3 });
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    throw new UpError(UP_ERRORS.notRunning, `the weft up that wrote ${file} (pid ${info.pid}) is gone; start one with \`weft up\``, { exitCode: 3 });
  }
  return info;
}

/** Like readRunInfo, but undefined when no `weft up` is running there (other errors still throw). */
export async function findRunInfo(stateDir = '.weft'): Promise<RunInfo | undefined> {
  try {
    return await readRunInfo(stateDir);
  } catch (e) {
    if ((e as { code?: string }).code === UP_ERRORS.notRunning) return undefined;
    throw e;
  }
}
