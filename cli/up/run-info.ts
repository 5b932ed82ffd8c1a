/**
 * `.weft/run.json`: what a running `weft up` wrote about itself, so `weft stat` and
 * `weft config-dump` in another terminal can find the proxies' admin ports.
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
  readonly controlPlane: { readonly xds: string; readonly status: string };
  readonly ingresses: readonly { readonly service: string; readonly namespace: string; readonly url: string }[];
  readonly proxies: readonly { readonly id: string; readonly service: string; readonly namespace: string; readonly version: string; readonly admin: string }[];
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
