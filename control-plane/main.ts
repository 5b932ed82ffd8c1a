/**
 * The control-plane process: flags parsed once into RunOptions, a source picked (Kubernetes or local
 * files), startControlPlane() wired to it, served until SIGTERM. Replicas need no leader: each one
 * serves every proxy from the same inputs; status writes are idempotent and only made on change.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildModel } from '../api/build-model';
import { WeftError } from '../api/errors';
import { RunningCa, startCa } from './main-ca';
import { ControlPlane, startControlPlane } from './server';
import { InstrumentedSource } from './sources/instrument';
import { KubernetesSource } from './sources/kubernetes';
import { LocalSource } from './sources/local';

/** Where the source reads from. */
export type SourceKind = 'kubernetes' | 'local';

/** Everything the process needs, validated. */
export interface RunOptions {
  readonly source: SourceKind;
  /** Manifest directory of the local source. @default 'dist' */
  readonly dist: string;
  /** ADS (gRPC) port. @default 15010 */
  readonly port: number;
  /** ADS bind address. @default '0.0.0.0' for kubernetes, '127.0.0.1' for local */
  readonly host: string;
  /** HTTP /status, /metrics, /ready, /live port. @default 15014 */
  readonly statusPort: number;
  /** HTTP bind address. @default the ADS host */
  readonly statusHost?: string;
  /** Local state (status.json) directory. @default '.weft' */
  readonly stateDir: string;
  /** Static endpoints JSON for the local source. @default none */
  readonly endpointsFile?: string;
  /** Kubeconfig for the Kubernetes source. @default KUBECONFIG, ~/.kube/config or in-cluster */
  readonly kubeconfig?: string;
  /** Snapshot debounce. @default 75 (kubernetes) / 100 (local) */
  readonly debounceMs?: number;
  /** Name of the MeshConfig this control plane serves. @default the only (or first by name) one */
  readonly meshConfig?: string;
  /** CA (IssueCertificate) port; no CA when undefined. @default undefined */
  readonly caPort?: number;
  /** Kubernetes: CA Secret `namespace/name`. @default `$POD_NAMESPACE` (else 'weft-system') / 'weft-ca' */
  readonly caSecretNamespace?: string;
  readonly caSecretName?: string;
}

/** A bad flag value; exit code 2 like other usage errors. */
export class ControlPlaneUsageError extends WeftError {
  readonly exitCode = 2;
  constructor(message: string) {
    super('WEFT_ERR_CP_USAGE', message);
    this.name = 'ControlPlaneUsageError';
  }
}

/** Adds the control plane's flags to `cmd` (used by `weft control-plane` and by this file's own entry). */
export function addControlPlaneOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--source <kind>', 'where the mesh comes from').choices(['kubernetes', 'local']).default('kubernetes'))
    .option('--dist <dir>', 'synthesized manifests read by the local source', 'dist')
    .option('--port <port>', 'ADS (xDS over gRPC) port; 0 picks one (default: 15010)')
    .addOption(new Option('--xds-port <port>', 'same as --port').hideHelp())
    .option('--host <addr>', 'ADS bind address (default: 0.0.0.0 for kubernetes, 127.0.0.1 for local)')
    .option('--status-port <port>', 'HTTP port for /status, /metrics, /ready, /live; 0 picks one (default: 15014)')
    .addOption(new Option('--admin-port <port>', 'same as --status-port').hideHelp())
    .option('--status-host <addr>', 'HTTP bind address (default: the ADS host)')
    .option('--state-dir <dir>', 'local state directory (status.json, ca/)', '.weft')
    .option('--endpoints <file>', 'static endpoints JSON for the local source (proxyless backends)')
    .option('--kubeconfig <file>', 'kubeconfig for the kubernetes source')
    .option('--mesh-config <name>', 'serve only this MeshConfig (default: the only one, else the first by name)')
    .option('--ca-port <port>', 'also serve the CA (IssueCertificate) on this port; 0 picks one (default: no CA)')
    .option('--ca-secret <namespace/name>', 'kubernetes: Secret holding the CA, created when absent (default: $POD_NAMESPACE/weft-ca)');
}

function port(flag: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ControlPlaneUsageError(`--${flag} ${JSON.stringify(value)} is not a port (0-65535)`);
  return n;
}

/** Raw commander flags → RunOptions (the one place flags are checked). */
export function optionsFromFlags(flags: Record<string, unknown>): RunOptions {
  const source = flags.source as SourceKind;
  if (source !== 'kubernetes' && source !== 'local') throw new ControlPlaneUsageError(`--source must be kubernetes or local, not ${JSON.stringify(flags.source)}`);
  const host = (flags.host as string | undefined) ?? (source === 'local' ? '127.0.0.1' : '0.0.0.0');
  const [secretNs, secretName] = ((flags.caSecret as string | undefined) ?? `${process.env.POD_NAMESPACE || 'weft-system'}/weft-ca`).split('/');
  if (!secretNs || !secretName) throw new ControlPlaneUsageError(`--ca-secret ${JSON.stringify(flags.caSecret)} must be <namespace>/<name>`);
  return {
    source,
    dist: resolve((flags.dist as string | undefined) ?? 'dist'),
    port: port('port', flags.port ?? flags.xdsPort ?? 15010),
    host,
    statusPort: port('status-port', flags.statusPort ?? flags.adminPort ?? 15014),
    ...(flags.meshConfig ? { meshConfig: flags.meshConfig as string } : {}),
    ...(flags.caPort !== undefined ? { caPort: port('ca-port', flags.caPort) } : {}),
    caSecretNamespace: secretNs,
    caSecretName: secretName,
    ...(flags.statusHost ? { statusHost: flags.statusHost as string } : {}),
    stateDir: resolve((flags.stateDir as string | undefined) ?? '.weft'),
    ...(flags.endpoints ? { endpointsFile: resolve(flags.endpoints as string) } : {}),
    ...(flags.kubeconfig ? { kubeconfig: resolve(flags.kubeconfig as string) } : {}),
  };
}

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
      ca = await startCa({ source: opts.source, port: opts.caPort, host: opts.host, mesh, stateDir: opts.stateDir, secretNamespace: opts.caSecretNamespace ?? 'weft-system', secretName: opts.caSecretName ?? 'weft-ca', kubeconfig: opts.kubeconfig, log });
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
  process.stdout.write(`${JSON.stringify({ ready: true, source: opts.source, xdsPort: cp.port, statusPort: cp.statusPort, ...(running.ca ? { caPort: running.ca.server.port } : {}) })}\n`);
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
