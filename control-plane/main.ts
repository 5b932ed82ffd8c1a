/**
 * The control-plane process: flags parsed once into RunOptions, a source picked (Kubernetes or local
 * files), startControlPlane() wired to it, served until SIGTERM. Replicas need no leader: each one
 * serves every proxy from the same inputs; status writes are idempotent and only made on change.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildModel } from '../api/build-model';
import { WeftError } from '../api/errors';
import { RunningCa, startCa } from './main-ca';
import { meshedNamespaces } from './sources/ca-root-configmap';
import { addControlPlaneOptions, optionsFromFlags, type RunOptions } from './options';
import { ControlPlane, startControlPlane } from './server';
import { InstrumentedSource } from './sources/instrument';
import { KubernetesSource } from './sources/kubernetes';
import { LocalSource } from './sources/local';

export { addControlPlaneOptions, ControlPlaneUsageError, optionsFromFlags } from './options';
export type { RunOptions, SourceKind } from './options';

/** Log sink: pino JSON lines on stderr. */
export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Default log: pino to stderr, so stdout stays free for the one "ready" line scripts read. */
export function defaultLog(): Log {
  const logger = pino({ name: 'weft-control-plane' }, pino.destination(2));
  return (level, msg, fields) => logger[level](fields ?? {}, msg);
}

/** Builds the source for `opts` (instrumented on `registry`). */
export function makeSource(opts: RunOptions, registry: Registry, log: Log): InstrumentedSource {
  const onError = (e: WeftError) => log('warn', e.message, { code: e.code });
  const inner =
    opts.source === 'local'
      ? new LocalSource({ dir: opts.dist, statusFile: join(opts.stateDir, 'status.json'), endpointsFile: opts.endpointsFile, debounceMs: opts.debounceMs, onError })
      : new KubernetesSource({ kubeconfigPath: opts.kubeconfig, debounceMs: opts.debounceMs, onError });
  return new InstrumentedSource(inner, opts.source, registry, opts.meshConfig);
}

/** A running control-plane process: ADS (+ status HTTP), optionally the CA. */
export interface RunningControlPlane {
  readonly controlPlane: ControlPlane;
  readonly source: InstrumentedSource;
  readonly ca?: RunningCa;
  stop(): Promise<void>;
}

/** Starts everything; resolves once the first snapshot is served (and the CA, when asked for, listens). */
export async function runControlPlane(opts: RunOptions, log: Log = defaultLog()): Promise<RunningControlPlane> {
  const registry = new Registry();
  const source = makeSource(opts, registry, log);
  const cp = await startControlPlane({
    source,
    port: opts.port,
    host: opts.host,
    statusPort: opts.statusPort,
    statusHost: opts.statusHost ?? opts.host,
    metricsRegistry: registry,
    controlPlaneId: `weft-control-plane/${hostname()}/${process.pid}`,
    log: (level, msg) => log(level, msg),
  });
  log('info', 'control plane serving', { source: opts.source, xdsPort: cp.port, statusPort: cp.statusPort });
  const hasMeshConfig = (source.lastSnapshot?.resources ?? []).some((r) => r.kind === 'MeshConfig');
  if (opts.meshConfig && !hasMeshConfig) log('warn', `MeshConfig "${opts.meshConfig}" not found; serving with defaults until it appears`, { code: 'WEFT_ERR_CP_MESH_CONFIG_MISSING' });
  let ca: RunningCa | undefined;
  if (opts.caPort !== undefined) {
    if (opts.meshConfig && !hasMeshConfig) {
      // Issuing under a default trust domain would mint identities no peer accepts: fail (and restart) instead.
      await cp.stop();
      throw new WeftError('WEFT_ERR_CP_MESH_CONFIG_MISSING', `MeshConfig "${opts.meshConfig}" does not exist, so the CA has no trust domain; create it (or drop --mesh-config)`);
    }
    // The trust domain is the mesh's: known once the first snapshot is in. Changing it needs a restart.
    const mesh = buildModel(source.lastSnapshot?.resources ?? [], []).model.mesh;
    try {
      ca = await startCa({
        source: opts.source, port: opts.caPort, host: opts.host, mesh, stateDir: opts.stateDir, secretNamespace: opts.caSecretNamespace ?? 'weft-system', secretName: opts.caSecretName ?? 'weft-ca', kubeconfig: opts.kubeconfig, log,
        insecure: opts.caInsecure, meshedNamespaces: () => meshedNamespaces(source.lastSnapshot?.resources ?? []),
      });
    } catch (e) {
      await cp.stop();
      throw e;
    }
  }
  return {
    controlPlane: cp,
    source,
    ca,
    async stop() {
      await ca?.close();
      await cp.stop();
    },
  };
}

/**
 * Stops `cp` gracefully on the first SIGTERM/SIGINT (ADS streams end, so proxies reconnect to another
 * replica and keep their last config meanwhile); a second signal exits at once.
 */
export function stopOnSignal(cp: { stop(): Promise<void> }, log: Log, signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<NodeJS.Signals> {
  return new Promise((resolveStopped) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        log('warn', `second ${sig}: exiting now`);
        process.exit(1);
      }
      stopping = true;
      log('info', `${sig}: shutting down`);
      cp.stop().then(
        () => {
          for (const s of signals) process.removeListener(s, onSignal);
          resolveStopped(sig);
        },
        (e: Error) => {
          log('error', `shutdown failed: ${e.message}`);
          process.exit(1);
        },
      );
    };
    for (const s of signals) process.on(s, onSignal);
  });
}

/** Runs the process: start, print one JSON "ready" line on stdout, serve until a signal. */
export async function main(flags: Record<string, unknown>, log: Log = defaultLog()): Promise<void> {
  const opts = optionsFromFlags(flags);
  const running = await runControlPlane(opts, log);
  const cp = running.controlPlane;
  process.stdout.write(`${JSON.stringify({ ready: true, source: opts.source, xdsPort: cp.port, statusPort: cp.statusPort, ...(running.ca ? { caPort: running.ca.server.port, caTls: running.ca.tls } : {}) })}\n`);
  await stopOnSignal(running, log);
}

if (require.main === module) {
  const cmd = addControlPlaneOptions(new Command('weft-control-plane'));
  cmd.parse(process.argv);
  main(cmd.opts()).catch((e: { code?: string; message?: string; exitCode?: number }) => {
    process.stderr.write(`weft-control-plane: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(e)}\n`);
    process.exitCode = e.exitCode ?? 1;
  });
}
