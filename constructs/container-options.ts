/**
 * Container escape hatches of a MeshService: the app container's resources and probes, and the
 * per-service sidecar overrides (resources, log level). Typed props, checked here, rendered to k8s.
 */
import { k8s } from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import type { PortSpec } from '../api/resources';
import { checkInt } from './checks';
import { WeftValidationError } from './errors';

/** CPU and memory of a container, as Kubernetes quantities (`'250m'`, `'1'`, `'128Mi'`). */
export interface ContainerResources {
  /** @default - none */
  readonly cpuRequest?: string;
  /** @default - none */
  readonly memoryRequest?: string;
  /** @default - none */
  readonly cpuLimit?: string;
  /** @default - none */
  readonly memoryLimit?: string;
}

/** One kubelet probe of the app container. Exactly one of `httpGet`, `tcpSocket`, `grpc`, `exec`. */
export interface ProbeOptions {
  /** HTTP GET; `port` is a port name or number of the service. @default - not an HTTP probe */
  readonly httpGet?: { readonly path: string; readonly port?: string | number };
  /** TCP connect. @default - not a TCP probe */
  readonly tcpSocket?: { readonly port?: string | number };
  /** gRPC health check (grpc.health.v1). @default - not a gRPC probe */
  readonly grpc?: { readonly port: number; readonly service?: string };
  /** Command in the app container. @default - not an exec probe */
  readonly exec?: { readonly command: readonly string[] };
  /** @default 0 */
  readonly initialDelaySeconds?: number;
  /** @default 10 */
  readonly periodSeconds?: number;
  /** @default 1 */
  readonly timeoutSeconds?: number;
  /** @default 3 */
  readonly failureThreshold?: number;
  /** @default 1 */
  readonly successThreshold?: number;
}

/** The app container's probes. */
export interface AppProbes {
  /** @default - none */
  readonly readiness?: ProbeOptions;
  /** @default - none */
  readonly liveness?: ProbeOptions;
  /** @default - none */
  readonly startup?: ProbeOptions;
}

/** Log levels of the weft proxy. */
export type ProxyLogLevel = 'debug' | 'info' | 'warn' | 'error';
const LOG_LEVELS: readonly ProxyLogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Per-service overrides of the sidecar proxy. */
export interface SidecarOptions {
  /**
   * Resources of this service's sidecars (each field falls back to the Mesh's `proxyResources`).
   * @default - the Mesh's proxyResources
   */
  readonly resources?: ContainerResources;
  /**
   * Log level of this service's sidecars (env `WEFT_LOG_LEVEL` of the proxy container).
   * @default - the proxy's default ('info')
   */
  readonly logLevel?: ProxyLogLevel;
}

const QUANTITY = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** Checks resources; returns them in k8s form (undefined when empty). */
export function renderResources(scope: IConstruct, prop: string, r: ContainerResources | undefined): k8s.ResourceRequirements | undefined {
  if (!r) return undefined;
  for (const [k, v] of Object.entries(r)) {
    if (v !== undefined && (typeof v !== 'string' || !QUANTITY.test(v))) {
      throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.${k} is not a Kubernetes quantity`, scope, { prop: `${prop}.${k}`, value: v, fix: 'write it like "250m", "1", "128Mi" or "1Gi"' });
    }
  }
  const q = (v: string | undefined) => (v === undefined ? undefined : k8s.Quantity.fromString(v));
  const requests = { ...(r.cpuRequest ? { cpu: q(r.cpuRequest)! } : {}), ...(r.memoryRequest ? { memory: q(r.memoryRequest)! } : {}) };
  const limits = { ...(r.cpuLimit ? { cpu: q(r.cpuLimit)! } : {}), ...(r.memoryLimit ? { memory: q(r.memoryLimit)! } : {}) };
  if (!Object.keys(requests).length && !Object.keys(limits).length) return undefined;
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

/** Checks a log level. */
export function checkLogLevel(scope: IConstruct, prop: string, level: string | undefined): ProxyLogLevel | undefined {
  if (level !== undefined && !LOG_LEVELS.includes(level as ProxyLogLevel)) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop} is not a log level`, scope, { prop, value: level, fix: `use one of ${LOG_LEVELS.join(', ')}` });
  }
  return level as ProxyLogLevel | undefined;
}

/** Constructor-time checks of a probe (ports named by the service are checked at synth). */
export function checkProbe(scope: IConstruct, prop: string, p: ProbeOptions | undefined): void {
  if (!p) return;
  const kinds = (['httpGet', 'tcpSocket', 'grpc', 'exec'] as const).filter((k) => p[k] !== undefined);
  if (kinds.length !== 1) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop} needs exactly one of httpGet, tcpSocket, grpc, exec (has ${kinds.join(', ') || 'none'})`, scope, { prop, fix: 'keep one probe handler' });
  }
  if (p.httpGet && (typeof p.httpGet.path !== 'string' || !p.httpGet.path.startsWith('/'))) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.httpGet.path must start with "/"`, scope, { prop: `${prop}.httpGet.path`, value: p.httpGet.path });
  }
  if (p.exec && (!Array.isArray(p.exec.command) || !p.exec.command.length)) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.exec.command needs at least the program`, scope, { prop: `${prop}.exec.command`, value: p.exec.command });
  }
  if (p.grpc) checkInt(scope, `${prop}.grpc.port`, p.grpc.port, 1, 65535);
  checkInt(scope, `${prop}.initialDelaySeconds`, p.initialDelaySeconds, 0);
  for (const k of ['periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold'] as const) checkInt(scope, `${prop}.${k}`, p[k], 1);
}

/** The container port (number) a probe targets, or undefined for exec probes; throws on an unknown port name. */
export function probePort(scope: IConstruct, prop: string, p: ProbeOptions, ports: readonly PortSpec[]): number | undefined {
  const ref = p.httpGet ? p.httpGet.port ?? ports[0]?.name : p.tcpSocket ? p.tcpSocket.port ?? ports[0]?.name : p.grpc?.port;
  if (ref === undefined) return undefined;
  if (typeof ref === 'number') return checkInt(scope, `${prop}.port`, ref, 1, 65535);
  const port = ports.find((x) => x.name === ref);
  if (!port) {
    throw new WeftValidationError('WEFT_ERR_UNKNOWN_PORT', `${prop} probes port ${JSON.stringify(ref)}, which the service does not declare`, scope, {
      prop: `${prop}.port`, value: ref, fix: `use a port name of the service (${ports.map((x) => x.name).join(', ') || 'none declared'}) or a number`,
    });
  }
  return port.targetPort ?? port.port;
}

/** Renders a probe against the app's container port `port`. */
export function renderProbe(p: ProbeOptions, port: number | undefined): k8s.Probe {
  const n = (x: number | undefined) => k8s.IntOrString.fromNumber(x!);
  return {
    ...(p.httpGet ? { httpGet: { path: p.httpGet.path, port: n(port) } } : {}),
    ...(p.tcpSocket ? { tcpSocket: { port: n(port) } } : {}),
    ...(p.grpc ? { grpc: { port: p.grpc.port, ...(p.grpc.service !== undefined ? { service: p.grpc.service } : {}) } } : {}),
    ...(p.exec ? { exec: { command: [...p.exec.command] } } : {}),
    ...(p.initialDelaySeconds !== undefined ? { initialDelaySeconds: p.initialDelaySeconds } : {}),
    ...(p.periodSeconds !== undefined ? { periodSeconds: p.periodSeconds } : {}),
    ...(p.timeoutSeconds !== undefined ? { timeoutSeconds: p.timeoutSeconds } : {}),
    ...(p.failureThreshold !== undefined ? { failureThreshold: p.failureThreshold } : {}),
    ...(p.successThreshold !== undefined ? { successThreshold: p.successThreshold } : {}),
  };
}
