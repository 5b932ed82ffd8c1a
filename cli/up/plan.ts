/**
 * What `weft up` runs, read from the synthesized manifests: one replica per MeshService version ×
 * replica, each an app process (its `local` command) plus a sidecar; and the ingresses asked for
 * with `--expose`. Pure: no ports, no processes.
 */
import { buildModel } from '../../api/build-model';
import type { MeshSettings } from '../../api/model';
import { mergeObservability, type ObservabilitySpec } from '../../api/observability';
import type { MeshConfigSpec, MeshServiceSpec, WeftResource } from '../../api/resources';
import { UP_ERRORS, UpError } from './errors';

/** One replica to run. */
export interface ReplicaPlan {
  /** Unique name, also the proxy's node id: `<service>-<version>-<index>`. */
  readonly id: string;
  readonly service: string;
  readonly namespace: string;
  readonly version: string;
  readonly index: number;
  readonly serviceAccount: string;
  /** Service port name → port the app listens on inside its own network (targetPort). */
  readonly ports: Readonly<Record<string, number>>;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Tracing and access logs of its sidecar: the service's `observability` over the mesh's. */
  readonly observability?: ObservabilitySpec;
}

/** An ingress asked for with `--expose <service>[.<namespace>]=<port>`. */
export interface ExposePlan {
  readonly service: string;
  readonly namespace: string;
  /** Service port the ingress forwards to. */
  readonly servicePort: number;
  /** Local port to listen on (0 picks one). */
  readonly listenPort: number;
}

/** The whole local run. */
export interface MeshPlan {
  readonly mesh: MeshSettings;
  readonly replicas: readonly ReplicaPlan[];
  readonly exposes: readonly ExposePlan[];
  /** The MeshConfig's `observability` (the ingress sidecar's). */
  readonly observability?: ObservabilitySpec;
  /** Namespace of the ingress identity: the first exposed service's. */
  readonly ingressNamespace: string;
}

/** Parses `--expose` values: `productpage=9080`, `productpage.bookinfo=0`, or just `productpage` (port 0). */
export function parseExpose(value: string): { service: string; namespace?: string; listenPort: number } {
  const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+))?(?:=(\d{1,5}))?$/.exec(value.trim());
  if (!m || (m[3] !== undefined && Number(m[3]) > 65535)) {
    throw new UpError(UP_ERRORS.expose, `--expose ${JSON.stringify(value)} must be <service>[.<namespace>][=<local port>], e.g. productpage=9080`, { exitCode: 2 });
  }
  return { service: m[1], namespace: m[2], listenPort: m[3] === undefined ? 0 : Number(m[3]) };
}

/** Builds the plan from the weft resources of the synthesized manifests. */
export function planMesh(resources: readonly WeftResource<unknown>[], exposes: readonly string[]): MeshPlan {
  const mesh = buildModel(resources, []).model.mesh;
  const services = resources.filter((r) => r.kind === 'MeshService') as WeftResource<MeshServiceSpec>[];
  const replicas: ReplicaPlan[] = [];
  const meshObs = (resources.find((r) => r.kind === 'MeshConfig') as WeftResource<MeshConfigSpec> | undefined)?.spec.observability;
  for (const r of services) {
    const observability = mergeObservability(meshObs, r.spec.observability);
    const ns = r.metadata.namespace ?? 'default';
    const ports = Object.fromEntries(r.spec.ports.map((p) => [p.name, p.targetPort ?? p.port]));
    for (const v of r.spec.versions) {
      if (v.replicas > 0 && !v.local) {
        throw new UpError(UP_ERRORS.noLocalCommand, `MeshService ${ns}/${r.metadata.name} version ${v.name} has no local command; give it \`local: { command: [...] }\` (or replicas: 0)`, { exitCode: 2 });
      }
      for (let i = 0; i < v.replicas; i++) {
        replicas.push({
          id: `${r.metadata.name}-${v.name}-${i}`, service: r.metadata.name, namespace: ns, version: v.name, index: i,
          serviceAccount: r.spec.serviceAccount, ports, command: v.local!.command, env: v.local!.env ?? {}, cwd: v.local!.cwd, observability,
        });
      }
    }
  }
  const planned = exposes.map((e) => {
    const x = parseExpose(e);
    const matches = services.filter((s) => s.metadata.name === x.service && (!x.namespace || (s.metadata.namespace ?? 'default') === x.namespace));
    if (matches.length !== 1) {
      const known = services.map((s) => `${s.metadata.name}.${s.metadata.namespace ?? 'default'}`).join(', ');
      throw new UpError(UP_ERRORS.expose, `--expose ${e}: ${matches.length ? 'ambiguous, add .<namespace>' : 'no such MeshService'} (known: ${known})`, { exitCode: 2 });
    }
    const s = matches[0];
    const http = s.spec.ports.find((p) => p.protocol === 'http' || p.protocol === 'http2' || p.protocol === 'grpc') ?? s.spec.ports[0];
    return { service: s.metadata.name, namespace: s.metadata.namespace ?? 'default', servicePort: http.port, listenPort: x.listenPort };
  });
  return { mesh, replicas, exposes: planned, ...(meshObs ? { observability: meshObs } : {}), ingressNamespace: planned[0]?.namespace ?? replicas[0]?.namespace ?? 'default' };
}
