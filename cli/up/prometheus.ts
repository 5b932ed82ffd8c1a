/**
 * Prometheus under `weft up`: `<state-dir>/prometheus.yml` lists every running sidecar's metrics
 * endpoint (rewritten as replicas come and go), and `--prometheus` runs a real Prometheus on it
 * (reloaded with SIGHUP after each rewrite) when the binary is installed.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';
import { Child, httpOk } from './child';
import { UP_ERRORS, UpError } from './errors';
import type { Reaper } from './lifeline';

/** File name of the scrape config in the state directory. */
export const PROMETHEUS_CONFIG = 'prometheus.yml';

/** One sidecar to scrape. */
export interface ScrapeTarget {
  readonly id: string;
  readonly namespace: string;
  /** Admin base URL (`http://127.0.0.1:<port>`). */
  readonly admin: string;
}

/**
 * The scrape config: one static target per sidecar, labelled `namespace` and `pod` (the replica
 * id) as the Prometheus Operator labels PodMonitor targets, so one PromQL works in both places.
 */
export function prometheusConfig(targets: readonly ScrapeTarget[], scrapeInterval = '5s'): string {
  return `# written by weft up; rewritten as replicas come and go\n${stringify({
    global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
    scrape_configs: [{
      job_name: 'weft-proxies',
      metrics_path: '/metrics',
      static_configs: targets.map((t) => ({ targets: [new URL(t.admin).host], labels: { namespace: t.namespace, pod: t.id } })),
    }],
  })}`;
}

/** Path of the prometheus binary: $PATH, then /usr/bin/prometheus (Debian's package); undefined when absent. */
export async function findPrometheus(env: NodeJS.ProcessEnv = process.env, fallback: readonly string[] = ['/usr/bin']): Promise<string | undefined> {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...fallback];
  for (const d of dirs) {
    const p = join(d, 'prometheus');
    try { await access(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

/** A Prometheus child on loopback. */
export interface RunningPrometheus {
  readonly url: string;
  readonly child: Child;
  /** Re-reads prometheus.yml. */
  reload(): void;
  stop(): Promise<void>;
}

/** Starts Prometheus on `port` with the config in `stateDir`; WEFT_ERR_UP_OBSERVABILITY when the binary is missing. */
export async function startPrometheus(stateDir: string, port: number, opts: { binary?: string; find?: () => Promise<string | undefined>; reaper?: Reaper; readyTimeoutMs?: number } = {}): Promise<RunningPrometheus> {
  const binary = opts.binary ?? await (opts.find ?? findPrometheus)();
  if (!binary) {
    throw new UpError(UP_ERRORS.observability, '--prometheus needs the prometheus binary on PATH (Debian/Ubuntu: apt-get install prometheus); the scrape config is in <state-dir>/prometheus.yml either way', { exitCode: 2 });
  }
  const url = `http://127.0.0.1:${port}`;
  const child = new Child({
    name: 'prometheus', reaper: opts.reaper, logFile: join(stateDir, 'logs', 'prometheus.log'),
    argv: [binary, `--config.file=${join(stateDir, PROMETHEUS_CONFIG)}`, `--storage.tsdb.path=${join(stateDir, 'prometheus')}`, `--web.listen-address=127.0.0.1:${port}`],
  });
  try {
    await child.waitUntil(() => httpOk(`${url}/-/ready`), opts.readyTimeoutMs ?? 30_000, 'serving /-/ready');
  } catch (e) {
    await child.kill();
    throw e;
  }
  return { url, child, reload: () => { try { child.signal('SIGHUP'); } catch { /* exited */ } }, stop: () => child.stop() };
}
