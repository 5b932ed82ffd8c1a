/**
 * The control plane's flags and their validated form, kept apart from main.ts so that `weft --help`
 * does not load the ADS server, protos and CA just to list the options.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { WeftError } from '../api/errors';

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
  /** File holding a bearer token that lets non-loopback callers read `/status`. @default none: `/status` answers loopback callers only */
  readonly statusTokenFile?: string;
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
  /** Serve the CA without TLS (testing only). @default false */
  readonly caInsecure?: boolean;
  /**
   * Serve ADS on `port` in plaintext. Without it `port` is TLS whenever a serving certificate exists
   * (the CA of `caPort`, or `xdsTlsDir`), with node authentication by client certificate. @default false
   */
  readonly xdsInsecure?: boolean;
  /** Also serve ADS in plaintext on this port, for proxyless gRPC clients (grpc-js-xds dials insecure only). @default none */
  readonly xdsPlaintextPort?: number;
  /**
   * Serve TLS ADS streams that present no verified client certificate (their node claims are taken
   * on trust). A migration aid for sidecars that cannot present one yet. @default false (refused: WEFT_ERR_XDS_UNAUTHENTICATED)
   */
  readonly xdsAllowUnauthenticated?: boolean;
  /** Serving certificate of the TLS ADS port when the CA runs elsewhere: `tls.crt`, `tls.key`, `ca.crt` (client roots), re-read every 10 s. @default none */
  readonly xdsTlsDir?: string;
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
    .option('--status-host <addr>', 'HTTP bind address (default: the ADS host); /status itself answers loopback callers only, unless --status-token-file')
    .option('--status-token-file <file>', 'bearer token (file, re-read per request) that lets non-loopback callers read /status (default: loopback callers only)')
    .option('--state-dir <dir>', 'local state directory (status.json, ca/)', '.weft')
    .option('--endpoints <file>', 'static endpoints JSON for the local source (proxyless backends)')
    .option('--kubeconfig <file>', 'kubeconfig for the kubernetes source')
    .option('--mesh-config <name>', 'serve only this MeshConfig (default: the only one, else the first by name)')
    .option('--ca-port <port>', 'also serve the CA (IssueCertificate) on this port; 0 picks one (default: no CA)')
    .option('--ca-secret <namespace/name>', 'kubernetes: Secret holding the CA, created when absent (default: $POD_NAMESPACE/weft-ca)')
    .option('--ca-insecure', 'serve the CA without TLS (testing only: bootstrap credentials travel in the clear)')
    .option('--xds-insecure', 'serve ADS on --port without TLS (testing only; default: TLS with the CA\'s certificate or --xds-tls-dir)')
    .option('--xds-plaintext-port <port>', 'also serve ADS in plaintext on this port, for proxyless gRPC clients; 0 picks one (default: none)')
    .option('--xds-tls-dir <dir>', 'serving certificate of the TLS ADS port when the CA is not in this process: tls.crt, tls.key, ca.crt (re-read every 10 s)')
    .option('--xds-allow-unauthenticated', 'migration aid: serve TLS ADS streams without a verified client certificate (default: refused, WEFT_ERR_XDS_UNAUTHENTICATED)');
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
  if (flags.xdsInsecure && flags.xdsPlaintextPort !== undefined) throw new ControlPlaneUsageError('--xds-plaintext-port with --xds-insecure: --port is already plaintext; drop one of them');
  if (flags.xdsInsecure && flags.xdsAllowUnauthenticated) throw new ControlPlaneUsageError('--xds-allow-unauthenticated with --xds-insecure: plaintext --port authenticates nobody; drop one of them');
  if (flags.xdsInsecure && flags.xdsTlsDir) throw new ControlPlaneUsageError('--xds-tls-dir with --xds-insecure: pick TLS or plaintext for --port');
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
    ...(flags.caInsecure ? { caInsecure: true } : {}),
    ...(flags.xdsInsecure ? { xdsInsecure: true } : {}),
    ...(flags.xdsPlaintextPort !== undefined ? { xdsPlaintextPort: port('xds-plaintext-port', flags.xdsPlaintextPort) } : {}),
    ...(flags.xdsAllowUnauthenticated ? { xdsAllowUnauthenticated: true } : {}),
    ...(flags.xdsTlsDir ? { xdsTlsDir: resolve(flags.xdsTlsDir as string) } : {}),
    ...(flags.statusHost ? { statusHost: flags.statusHost as string } : {}),
    ...(flags.statusTokenFile ? { statusTokenFile: resolve(flags.statusTokenFile as string) } : {}),
    stateDir: resolve((flags.stateDir as string | undefined) ?? '.weft'),
    ...(flags.endpoints ? { endpointsFile: resolve(flags.endpoints as string) } : {}),
    ...(flags.kubeconfig ? { kubeconfig: resolve(flags.kubeconfig as string) } : {}),
  };
}
