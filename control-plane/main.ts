/**
 * The control-plane process: flags parsed once into RunOptions, a source picked (Kubernetes or local
 * files), startControlPlane() wired to it, served until SIGTERM. Replicas need no leader: each one
 * serves every proxy from the same inputs; status writes are idempotent and only made on change.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Counter, Registry } from 'prom-client';
import { buildModel } from '../api/build-model';
import { WeftError } from '../api/errors';
import { createLog, createLogger } from '../api/log';
import { RunningCa, startCa } from './main-ca';
import { meshedNamespaces } from './sources/ca-root-configmap';
import { addControlPlaneOptions, optionsFromFlags, type RunOptions } from './options';
import { ControlPlane, startControlPlane } from './server';
import { readStatusToken } from './status-access';
import { InstrumentedSource } from './sources/instrument';
import { KubernetesSource } from './sources/kubernetes';
import { LocalSource } from './sources/local';
import { directoryCertificates, serveAdsTls, type DirectoryCertificates, type NodeAuthOptions, type TlsAdsListener, XDS_TLS_ERRORS } from './xds-tls';

export { addControlPlaneOptions, ControlPlaneUsageError, optionsFromFlags } from './options';
export type { RunOptions, SourceKind } from './options';

/** Log sink: pino JSON lines on stderr (api/log.ts). */
export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Default log: weft's one logger (pino to stderr), so stdout stays free for the one "ready" line scripts read. */
export function defaultLog(): Log {
  return createLog('weft-control-plane');
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
  /** The ADS port sidecars dial (`--port`): TLS when `xdsTls`. */
  readonly xdsPort: number;
  /** Whether `xdsPort` is TLS (with node authentication by client certificate). */
  readonly xdsTls: boolean;
  /** The extra plaintext ADS port (`--xds-plaintext-port`), for proxyless gRPC clients. */
  readonly xdsPlaintextPort?: number;
  stop(): Promise<void>;
}

/** Node authentication against the mesh the source delivered (memoized per snapshot: a model build per stream would not scale). */
function nodeAuthFor(source: InstrumentedSource, registry: Registry, log: Log, allowUnauthenticated: boolean): NodeAuthOptions {
  const facts = new WeakMap<object, { trustDomain: string; accounts: Map<string, string> }>();
  const current = () => {
    const snap = source.lastSnapshot;
    const key = (snap ?? source) as object;
    let f = facts.get(key);
    if (!f) {
      const model = buildModel(snap?.resources ?? [], []).model;
      f = { trustDomain: model.mesh.trustDomain, accounts: new Map(model.services.map((sv) => [`${sv.namespace}/${sv.name}`, sv.serviceAccount])) };
      facts.set(key, f);
    }
    return f;
  };
  // result: authenticated | refused (identity mismatch) | unauthenticated (no verified certificate, refused)
  // | node_id_taken | unauthenticated_allowed (served under --xds-allow-unauthenticated)
  const counter = new Counter({ name: 'weft_xds_node_authentication_total', help: 'ADS streams on the TLS port by node authentication result', labelNames: ['result'], registers: [registry] });
  const resultOf: Record<string, string> = { [XDS_TLS_ERRORS.UNAUTHENTICATED]: 'unauthenticated', [XDS_TLS_ERRORS.NODE_ID_TAKEN]: 'node_id_taken' };
  return {
    trustDomain: () => current().trustDomain,
    serviceAccountOf: (ns, svc) => current().accounts.get(`${ns}/${svc}`),
    allowUnauthenticated,
    onRefused: (code, message, fields) => {
      counter.inc({ result: resultOf[code] ?? 'refused' });
      log('warn', `ADS stream refused: ${message}`, { code, ...fields });
    },
    onAuthenticated: () => counter.inc({ result: 'authenticated' }),
    onUnauthenticated: (nodeId) => {
      counter.inc({ result: 'unauthenticated_allowed' });
      log('warn', `ADS stream of node ${nodeId || '?'} served WITHOUT a client certificate (--xds-allow-unauthenticated)`, { code: XDS_TLS_ERRORS.UNAUTHENTICATED, node: nodeId });
    },
  };
}

/** Starts everything; resolves once the first snapshot is served (and the CA, when asked for, listens). */
export async function runControlPlane(opts: RunOptions, log: Log = defaultLog()): Promise<RunningControlPlane> {
  const registry = new Registry();
  const source = makeSource(opts, registry, log);
  // ADS on --port is TLS whenever a serving certificate exists: the CA's own (same process) or --xds-tls-dir.
  const tls = !opts.xdsInsecure && ((opts.caPort !== undefined && !opts.caInsecure) || opts.xdsTlsDir !== undefined);
  const plaintextPort = tls ? opts.xdsPlaintextPort : opts.port;
  const cp = await startControlPlane({
    source,
    port: plaintextPort ?? 0,
    listen: plaintextPort !== undefined,
    host: opts.host,
    statusPort: opts.statusPort,
    statusHost: opts.statusHost ?? opts.host,
    ...(opts.statusTokenFile ? { statusToken: () => readStatusToken(opts.statusTokenFile!) } : {}),
    metricsRegistry: registry,
    controlPlaneId: `weft-control-plane/${hostname()}/${process.pid}`,
    log: (level, msg, fields) => log(level, msg, fields),
  });
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
  let tlsAds: TlsAdsListener | undefined;
  let dirCerts: DirectoryCertificates | undefined;
  if (tls) {
    try {
      if (opts.xdsTlsDir) {
        dirCerts = directoryCertificates(opts.xdsTlsDir, {
          onError: (e) => log('error', `${e.message}; keeping the current certificate`, { code: e.code }),
          onChange: () => log('info', 'xDS serving certificate changed: new connections get it'),
        });
      }
      // the CA endpoint's credentials: the same self-issued certificate, re-issued on every rotation (grpc-js swaps it in place)
      const credentials = dirCerts?.credentials ?? ca!.credentials!;
      tlsAds = await serveAdsTls(cp.ads, { host: opts.host, port: opts.port, credentials, nodeAuth: nodeAuthFor(source, registry, log, opts.xdsAllowUnauthenticated === true) });
    } catch (e) {
      dirCerts?.close();
      await ca?.close();
      await cp.stop();
      throw e;
    }
    if (opts.xdsAllowUnauthenticated) log('warn', 'TLS ADS serves streams without a client certificate (--xds-allow-unauthenticated): their node claims are not checked; drop the flag once every sidecar presents its certificate', { code: XDS_TLS_ERRORS.UNAUTHENTICATED });
  } else if (!opts.xdsInsecure) {
    log('warn', 'ADS served WITHOUT TLS: no serving certificate (no --ca-port, no --xds-tls-dir); pass --xds-insecure to say so', { code: 'WEFT_ERR_CP_XDS_PLAINTEXT' });
  }
  const xdsPort = tlsAds?.port ?? cp.port;
  log('info', 'control plane serving', { source: opts.source, xdsPort, xdsTls: tls, ...(tls && plaintextPort !== undefined ? { xdsPlaintextPort: cp.port } : {}), statusPort: cp.statusPort });
  return {
    controlPlane: cp,
    source,
    ca,
    xdsPort,
    xdsTls: tls,
    ...(tls && plaintextPort !== undefined ? { xdsPlaintextPort: cp.port } : {}),
    async stop() {
      dirCerts?.close();
      await ca?.close();
      // ADS streams end first (both listeners share the handler), then the listeners close
      await cp.stop();
      await tlsAds?.close();
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
  process.stdout.write(`${JSON.stringify({
    ready: true, source: opts.source, xdsPort: running.xdsPort, xdsTls: running.xdsTls, statusPort: cp.statusPort,
    ...(running.xdsPlaintextPort !== undefined ? { xdsPlaintextPort: running.xdsPlaintextPort } : {}),
    ...(running.ca ? { caPort: running.ca.server.port, caTls: running.ca.tls } : {}),
  })}\n`);
  await stopOnSignal(running, log);
}

if (require.main === module) {
  const cmd = addControlPlaneOptions(new Command('weft-control-plane'));
  cmd.parse(process.argv);
  main(cmd.opts()).catch((e: { code?: string; message?: string; exitCode?: number }) => {
    createLogger('weft-control-plane').fatal({ code: e.code }, `${e.code ? `${e.code}: ` : ''}${e.message ?? String(e)}`);
    process.exitCode = e.exitCode ?? 1;
  });
}
