/**
 * `weft up [app]`: the whole mesh on one machine (see cli/up/mesh.ts), then a live golden-metrics
 * table every second until Ctrl-C, which drains and stops everything. Exit codes: 0 stopped
 * cleanly, 1 a part failed, 2 usage (bad app, bad --expose).
 */
import { Command } from 'commander';
import { startLocalMesh } from '../up/mesh';
import { renderRejections, watchRejections } from '../up/rejections';
import type { Rejection } from '../../control-plane';
import { renderStat, watchStat } from '../up/stat';

/** Collects repeated `--expose` values (also comma-separated). */
function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

export function register(program: Command): void {
  program
    .command('up')
    .description('run the mesh on this machine: control plane, CA, every replica as app + sidecar on loopback, live golden metrics')
    .argument('[app]', 'mesh module `path/to/mesh.ts[#export]` or a directory of synthesized manifests (default: the bookinfo example)')
    .option('--expose <service=port>', 'open an ingress on localhost that enters the mesh through a sidecar (repeatable; port 0 picks one)', collect, [] as string[])
    .option('--state-dir <dir>', 'state, certificates, logs and synthesized manifests', '.weft')
    .option('--netns', 'transparent mode: one network namespace per replica, iptables capture (Linux, root)', false)
    .option('--props <json>', 'JSON object passed as the mesh function\'s second argument (e.g. \'{"replicas":{"ratings":2}}\')')
    .option('--no-stat', 'do not print the live metrics table')
    .option('--ready-timeout <ms>', 'time each process gets to become ready', '60000')
    .option('--ca-insecure', 'serve the CA and the xDS endpoint without TLS (testing only: bootstrap tokens and config travel in the clear, no node authentication)', false)
    .option('--trace-to <url>', 'every sidecar samples every new trace and exports spans over OTLP/HTTP to <url> (e.g. http://127.0.0.1:4318)')
    .option('--access-logs', 'every sidecar writes JSON access log lines (in <state-dir>/logs/<replica>.proxy.log)', false)
    .option('--prometheus [port]', 'also run Prometheus (the `prometheus` binary) on <state-dir>/prometheus.yml, on 127.0.0.1:<port> (default 9090)')
    .addHelpText('after', `
Examples:
  weft up --expose productpage=9080           bookinfo, productpage on http://127.0.0.1:9080
  weft up ./mesh.ts#shop --expose web=8080     your own mesh function
Files: <state-dir>/dist (manifests the control plane watches), logs/, proxies/<id>/bootstrap.json, run.json, prometheus.yml`)
    .action(async (app: string | undefined, flags: { expose: string[]; stateDir: string; netns: boolean; props?: string; stat: boolean; readyTimeout: string; caInsecure: boolean; traceTo?: string; accessLogs: boolean; prometheus?: string | boolean }) => {
      let props: Record<string, unknown> | undefined;
      if (flags.props) {
        try {
          props = JSON.parse(flags.props) as Record<string, unknown>;
        } catch (e) {
          throw Object.assign(new Error(`--props is not JSON: ${(e as Error).message}`), { code: 'WEFT_ERR_UP_USAGE', exitCode: 2 });
        }
      }
      const promPort = flags.prometheus === undefined || flags.prometheus === false ? undefined : flags.prometheus === true ? 9090 : Number(flags.prometheus);
      if (promPort !== undefined && (!Number.isInteger(promPort) || promPort < 0 || promPort > 65535)) {
        throw Object.assign(new Error(`--prometheus ${JSON.stringify(flags.prometheus)} must be a port 0..65535`), { code: 'WEFT_ERR_UP_OBSERVABILITY', exitCode: 2 });
      }
      const tty = process.stdout.isTTY === true;
      const t0 = Date.now();
      const mesh = await startLocalMesh({
        app, appProps: props, exposes: flags.expose, stateDir: flags.stateDir, netns: flags.netns, readyTimeoutMs: Number(flags.readyTimeout) || 60_000, caInsecure: flags.caInsecure,
        traceTo: flags.traceTo, accessLogs: flags.accessLogs,
        ...(promPort !== undefined ? { prometheus: { port: promPort } } : {}),
        onProgress: (msg) => process.stderr.write(`weft up: ${msg}\n`),
      });
      const header = [
        `weft up: mesh running (${((Date.now() - t0) / 1000).toFixed(1)}s); Ctrl-C to stop`,
        ...mesh.ingresses.map((i) => `  ${i.service}.${i.namespace}: ${i.url}`),
        ...(mesh.prometheus ? [`  prometheus: ${mesh.prometheus.url}`] : []),
        `  control plane status: http://127.0.0.1:${mesh.controlPlane.statusPort}/status   logs: ${mesh.stateDir}/logs`,
        `  try: weft stat | weft config-dump <proxy> | weft proxy-status`,
      ].join('\n');
      process.stdout.write(`${header}\n`);
      let rejected: readonly Rejection[] = [];
      // read at every tick: a replica that is down (being restarted) is not counted as meshed
      const targets = () => mesh.replicas.map((r) => ({ id: r.plan.id, service: r.plan.service, namespace: r.plan.namespace, version: r.plan.version, admin: r.adminUrl, state: r.state(), restarts: r.restarts() }));
      const stopStat = flags.stat
        ? watchStat(targets, (rows) => {
          const table = `${renderStat(rows, tty)}${renderRejections(rejected)}`;
          process.stdout.write(tty ? `\x1b[H\x1b[2J${header}\n\n${table}\n` : `${new Date().toISOString()}\n${table}\n`);
        }, tty ? 1000 : 10_000)
        : () => undefined;
      // a custom resource the control plane rejects (e.g. a live edit of dist/) gets a console line, once per change
      const stopRejections = watchRejections(`http://127.0.0.1:${mesh.controlPlane.statusPort}`, {
        onNew: (r) => process.stderr.write(`weft up: REJECTED ${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}: ${r.code}: ${r.message}\n`),
        onCleared: (key) => process.stderr.write(`weft up: ${key} is no longer rejected\n`),
        onList: (list) => (rejected = list),
      });
      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = () => {
          if (++signals > 1) process.exit(130);
          process.stderr.write('\nweft up: stopping (Ctrl-C again to force)\n');
          resolve();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      stopStat();
      stopRejections();
      await mesh.stop();
    });
}
