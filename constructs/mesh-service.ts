/**
 * `MeshService`: one service of the mesh. It synthesizes the workload identity (ServiceAccount), the
 * Service (every port with `appProtocol`), one Deployment per version with the weft proxy injected
 * as a native sidecar, and the `MeshService` custom resource the control plane reads.
 */
import { ApiObject, Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { MESHED_ANNOTATION } from '../api/mesh-rules';
import { MeshServiceSpec, PortSpec, TrafficPolicy, VersionSpec, WeftResource } from '../api/resources';
import { checkInt, checkName, checkPort } from './checks';
import { installCleanErrors } from './clean-errors';
import { AppProbes, checkLogLevel, checkProbe, ContainerResources, renderResources, SidecarOptions } from './container-options';
import { asResource, customResource, IWeftResourceEmitter, registerEmitter } from './custom-resource';
import { WeftValidationError } from './errors';
import { Mesh, validateUnlessMeshDoes } from './mesh';
import { checkObservability, ObservabilityOptions } from './observability';
import type { ObservabilitySpec } from '../api/observability';
import { renderTrafficPolicy, TrafficPolicyOptions } from './traffic';
import { Interception, InterceptionMode, Protocol } from './values';
import { APP_UID, PROXY_UID, VersionWorkload } from './workload';

/** A reference to a MeshService, possibly one built elsewhere in the app. */
export interface IMeshServiceRef {
  readonly serviceName: string;
  readonly namespace: string;
}

/** One port of a service. */
export interface MeshServicePortOptions {
  /** Port the Service exposes. */
  readonly port: number;
  /** What the port speaks (there is no protocol sniffing). */
  readonly protocol: Protocol;
  /**
   * Port name (an IANA service name: at most 15 characters).
   * @default - the protocol (`http`, `grpc`, ...), suffixed with the port when taken
   */
  readonly name?: string;
  /**
   * Port the app listens on.
   * @default - `port`
   */
  readonly targetPort?: number;
}

/** How `weft up` runs a version as a local process. */
export interface LocalRunOptions {
  /** argv of the app. */
  readonly command: readonly string[];
  /** @default - none */
  readonly env?: Record<string, string>;
  /** @default - the directory `weft up` runs in */
  readonly cwd?: string;
}

/** One version (Deployment) of a service. */
export interface VersionOptions {
  /**
   * Container image of this version.
   * @default - the service's `image`
   */
  readonly image?: string;
  /**
   * Replicas of this version.
   * @default - the service's `replicas`
   */
  readonly replicas?: number;
  /**
   * Extra environment of the app container.
   * @default - none
   */
  readonly env?: Record<string, string>;
  /**
   * How `weft up` runs this version locally (`spec.versions[].local`).
   * @default - the service's `local`, else not runnable locally
   */
  readonly local?: LocalRunOptions;
  /**
   * Services only this version calls, on top of the service's `calls()` (a canary that adds a
   * dependency). The call-graph check wants a policy for them when versions share traffic.
   * @default - none
   */
  readonly calls?: readonly IMeshServiceRef[];
  /**
   * Resources of this version's app container.
   * @default - the service's `resources`
   */
  readonly resources?: ContainerResources;
}

/** Props of a {@link MeshService}. */
export interface MeshServiceProps extends TrafficPolicyOptions {
  /** The mesh this service joins. */
  readonly mesh: Mesh;
  /**
   * Service name (DNS-1123 label); also the `app` label.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Namespace of every object.
   * @default - the chart's namespace, else 'default'
   */
  readonly namespace?: string;
  /**
   * Image of versions that name none.
   * @default - every version must name its image
   */
  readonly image?: string;
  /**
   * Shorthand for one port: its number (with `protocol`).
   * @default - no port from this prop; use `ports` or `addPort()`
   */
  readonly port?: number;
  /**
   * Protocol of `port`. Required with `port`.
   * @default - none
   */
  readonly protocol?: Protocol;
  /**
   * More ports.
   * @default - none
   */
  readonly ports?: readonly MeshServicePortOptions[];
  /**
   * Versions by name (the `version` label).
   * @default - one version `v1`
   */
  readonly versions?: Record<string, VersionOptions>;
  /**
   * Replicas of versions that set none.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * How app traffic reaches the proxy.
   * @default Interception.IPTABLES
   */
  readonly interception?: InterceptionMode;
  /**
   * Whether the workload gets a sidecar. `false` models a workload outside the mesh (no identity,
   * plaintext); it is still a MeshService so it can declare `calls()` and be routed to.
   * @default true
   */
  readonly meshed?: boolean;
  /**
   * ServiceAccount name, i.e. the SPIFFE identity's last segment.
   * @default - the service name
   */
  readonly serviceAccountName?: string;
  /**
   * Environment of every version's app container.
   * @default - none
   */
  readonly env?: Record<string, string>;
  /**
   * How `weft up` runs versions that set no `local`.
   * @default - not runnable locally
   */
  readonly local?: LocalRunOptions;
  /**
   * UID of the app container (restricted profile: non-root). Must differ from the proxy's UID 1337,
   * whose traffic the iptables rules let through uncaptured.
   * @default 1000
   */
  readonly appUser?: number;
  /**
   * Whether the app's root filesystem is read-only (a writable `/tmp` is always mounted).
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;
  /**
   * Whether traffic enters the mesh at this service (a gateway, a load balancer, users): an entry
   * of the call graph, so the check does not warn that nothing calls it.
   * @default false
   */
  readonly ingress?: boolean;
  /**
   * CPU/memory of the app container (every version unless it sets its own).
   * @default - none (the namespace's LimitRange, if any)
   */
  readonly resources?: ContainerResources;
  /**
   * Kubelet probes of the app container. In iptables mode a probe of a declared port passes the
   * sidecar, so it must not target a STRICT port (WEFT_ERR_PROBE_INTERCEPTED); probe a separate port.
   * @default - none
   */
  readonly probes?: AppProbes;
  /**
   * Overrides of this service's sidecar proxy (resources, log level).
   * @default - the Mesh's settings
   */
  readonly sidecar?: SidecarOptions;
  /**
   * This service's tracing and access logs, over the mesh's `observability` field by field (e.g.
   * `{ tracing: { sampleRate: 1 } }` samples everything here while keeping the mesh's endpoint).
   * @default - the mesh's
   */
  readonly observability?: ObservabilityOptions;
}

/** Kubernetes `appProtocol` of each weft protocol. */
export const APP_PROTOCOL: Record<Protocol, string> = {
  [Protocol.HTTP]: 'http',
  [Protocol.HTTP2]: 'kubernetes.io/h2c',
  [Protocol.GRPC]: 'grpc',
  [Protocol.TCP]: 'tcp',
};

/** A service of the mesh. */
export class MeshService extends Construct implements IWeftResourceEmitter, IMeshServiceRef {
  public readonly serviceName: string;
  public readonly namespace: string;
  public readonly serviceAccountName: string;
  public readonly mesh: Mesh;
  public readonly meshed: boolean;
  public readonly interception: Interception;
  /** The traffic policy as rendered into the custom resource. */
  public readonly trafficPolicy?: TrafficPolicy;
  /** UID of the app container. */
  public readonly appUser: number;
  public readonly readOnlyRootFilesystem: boolean;
  /** The checked `observability` override (the mesh's applies under it). */
  public readonly observability?: ObservabilitySpec;
  /** The ServiceAccount object (workload identity). */
  public readonly serviceAccount: ApiObject;
  /** The Kubernetes Service. */
  public readonly service: ApiObject;
  /** Whether traffic enters the mesh here. */
  public readonly ingress: boolean;
  /** App container probes. */
  public readonly probes?: AppProbes;
  /** Sidecar overrides. */
  public readonly sidecar?: SidecarOptions;

  private readonly _ports: PortSpec[] = [];
  private readonly _versions: VersionSpec[] = [];
  private readonly _calls: IMeshServiceRef[] = [];
  private readonly _workloads: VersionWorkload[] = [];
  private readonly _versionCalls = new Map<string, IMeshServiceRef[]>();

  constructor(scope: Construct, id: string, props: MeshServiceProps) {
    super(scope, id);
    installCleanErrors();
    this.mesh = props.mesh;
    if (!Mesh.isMesh(props.mesh)) throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'mesh must be a Mesh', this, { prop: 'mesh' });
    this.ingress = props.ingress ?? false;
    const appResources = renderResources(this, 'resources', props.resources);
    checkProbe(this, 'probes.readiness', props.probes?.readiness);
    checkProbe(this, 'probes.liveness', props.probes?.liveness);
    checkProbe(this, 'probes.startup', props.probes?.startup);
    this.probes = props.probes;
    renderResources(this, 'sidecar.resources', props.sidecar?.resources);
    checkLogLevel(this, 'sidecar.logLevel', props.sidecar?.logLevel);
    this.sidecar = props.sidecar;
    this.serviceName = checkName(this, 'name', props.name ?? id);
    this.namespace = checkName(this, 'namespace', props.namespace ?? Chart.of(this).namespace ?? 'default');
    this.serviceAccountName = checkName(this, 'serviceAccountName', props.serviceAccountName ?? this.serviceName);
    this.meshed = props.meshed ?? true;
    this.interception = (props.interception ?? Interception.IPTABLES) as Interception;
    if (!Object.values(Interception).includes(this.interception)) {
      throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'interception must be "iptables" or "explicit"', this, { prop: 'interception', value: props.interception });
    }
    this.trafficPolicy = renderTrafficPolicy(this, props);
    this.appUser = checkInt(this, 'appUser', props.appUser ?? APP_UID, 1)!;
    if (this.appUser === PROXY_UID) {
      throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `appUser ${PROXY_UID} is the proxy's UID: the app's traffic would bypass the sidecar`, this, { prop: 'appUser', value: this.appUser, fix: 'pick another UID' });
    }
    this.readOnlyRootFilesystem = props.readOnlyRootFilesystem ?? true;
    this.observability = checkObservability(this, 'observability', props.observability);
    if (props.observability?.podMonitor !== undefined) {
      throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'observability.podMonitor is a Mesh setting (one PodMonitor scrapes every sidecar)', this, { prop: 'observability.podMonitor', value: props.observability.podMonitor, fix: 'set it on the Mesh' });
    }

    if (props.port !== undefined) {
      if (!props.protocol) {
        throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'port needs a protocol: weft does not sniff protocols', this, { prop: 'protocol', fix: 'add protocol: Protocol.HTTP (or HTTP2, GRPC, TCP)' });
      }
      this.addPort({ port: props.port, protocol: props.protocol });
    } else if (props.protocol) {
      throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'protocol is set but port is not', this, { prop: 'port', fix: 'add port, or declare ports with `ports`/addPort()' });
    }
    for (const p of props.ports ?? []) this.addPort(p);

    const defaultReplicas = checkInt(this, 'replicas', props.replicas ?? 1, 0)!;
    const versions = props.versions ?? { v1: {} };
    if (!Object.keys(versions).length) throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'versions is empty', this, { prop: 'versions', fix: 'declare at least one version, or omit versions for a single `v1`' });

    const labels = { app: this.serviceName };
    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.serviceAccountName, namespace: this.namespace, labels },
      automountServiceAccountToken: false,
    });
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.serviceName, namespace: this.namespace, labels },
      spec: { selector: labels, ports: Lazy.any({ produce: () => this.renderServicePorts() }) },
    });

    for (const [name, v] of Object.entries(versions)) {
      checkName(this, `versions.${name}`, name);
      const replicas = checkInt(this, `versions.${name}.replicas`, v.replicas ?? defaultReplicas, 0)!;
      const local = v.local ?? props.local;
      if (local && (!Array.isArray(local.command) || !local.command.length)) {
        throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'local.command needs at least the program', this, { prop: `versions.${name}.local.command`, value: local.command });
      }
      const image = v.image ?? props.image;
      const versionCalls: IMeshServiceRef[] = [];
      for (const o of v.calls ?? []) {
        this.checkRef(`versions.${name}.calls`, o);
        if (!versionCalls.some((c) => c.serviceName === o.serviceName && c.namespace === o.namespace)) versionCalls.push(o);
      }
      this._versionCalls.set(name, versionCalls);
      this._versions.push({
        name, replicas,
        ...(image ? { image } : {}),
        ...(local ? { local: { command: [...local.command], ...(local.env ? { env: { ...local.env } } : {}), ...(local.cwd ? { cwd: local.cwd } : {}) } } : {}),
      });
      const resources = v.resources ? renderResources(this, `versions.${name}.resources`, v.resources) : appResources;
      this._workloads.push(new VersionWorkload(this, `Version-${name}`, { service: this, version: name, replicas, image, env: { ...props.env, ...v.env }, resources }));
    }

    customResource(this, {
      kind: 'MeshService', name: this.serviceName, namespace: this.namespace, labels,
      annotations: this.meshed ? undefined : { [MESHED_ANNOTATION]: 'false' },
      spec: () => this.renderSpec(),
    }).node.addDependency(this.mesh.crds);
    registerEmitter(this, 'MeshService');
    this.node.addValidation({ validate: () => { validateUnlessMeshDoes(this, this.mesh); return []; } });
  }

  /**
   * The Deployment of one version (an escape hatch: `addJsonPatch`, labels, anything the props do
   * not cover). Throws WEFT_ERR_UNKNOWN_VERSION for a version the service does not have.
   */
  public deployment(version: string): ApiObject {
    const w = this._workloads.find((x) => x.version === version);
    if (!w) {
      throw new WeftValidationError('WEFT_ERR_UNKNOWN_VERSION', `the service has no version ${JSON.stringify(version)}`, this, {
        prop: 'version', value: version, fix: `use one of ${this._workloads.map((x) => x.version).join(', ')}`,
      });
    }
    return w.deployment;
  }

  /** Adds a port. Names must be unique; numbers must not collide with the proxy's reserved ports. */
  public addPort(options: MeshServicePortOptions): this {
    if (!Object.values(Protocol).includes(options.protocol)) {
      throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'every port declares its protocol', this, { prop: 'protocol', value: options.protocol, fix: `use one of ${Object.values(Protocol).join(', ')}` });
    }
    const port = checkPort(this, 'port', options.port);
    const targetPort = checkPort(this, 'targetPort', options.targetPort ?? port);
    let name = options.name ?? options.protocol;
    if (options.name === undefined && this._ports.some((p) => p.name === name)) name = `${options.protocol}-${port}`;
    checkName(this, 'port name', name);
    if (name.length > 15) throw new WeftValidationError('WEFT_ERR_INVALID_NAME', 'a port name is an IANA service name: at most 15 characters', this, { prop: 'name', value: name });
    if (this._ports.some((p) => p.name === name)) throw new WeftValidationError('WEFT_ERR_DUPLICATE_NAME', `port name ${JSON.stringify(name)} is already used`, this, { prop: 'name', value: name });
    if (this._ports.some((p) => p.port === port)) throw new WeftValidationError('WEFT_ERR_DUPLICATE_NAME', `port ${port} is already declared`, this, { prop: 'port', value: port });
    this._ports.push({ name, port, ...(targetPort !== port ? { targetPort } : {}), protocol: options.protocol });
    return this;
  }

  /** Declares that this service calls `others`: drives authorization and outbound scoping. */
  public calls(...others: IMeshServiceRef[]): this {
    for (const o of others) {
      this.checkRef('calls', o);
      if (!this._calls.some((c) => c.serviceName === o.serviceName && c.namespace === o.namespace)) this._calls.push(o);
    }
    return this;
  }

  private checkRef(prop: string, o: IMeshServiceRef): void {
    if (!o || typeof o.serviceName !== 'string') throw new WeftValidationError('WEFT_ERR_UNKNOWN_SERVICE', `${prop} needs a MeshService`, this, { prop, value: o });
    checkName(this, `${prop}.serviceName`, o.serviceName);
  }

  /** Ports so far (copies). */
  public get ports(): PortSpec[] { return this._ports.map((p) => ({ ...p })); }
  /** Versions (copies). */
  public get versions(): VersionSpec[] {
    return this._versions.map((v) => {
      const calls = (this._versionCalls.get(v.name) ?? []).map((c) => ({ name: c.serviceName, namespace: c.namespace }));
      return { ...v, ...(calls.length ? { calls } : {}) };
    });
  }
  /** Declared callees. */
  public get callees(): IMeshServiceRef[] { return [...this._calls]; }
  /** SPIFFE ID of the workloads of this service. */
  public get identity(): string { return `spiffe://${this.mesh.trustDomain}/ns/${this.namespace}/sa/${this.serviceAccountName}`; }

  /** @internal */
  public _validateLocal(): void {
    if (!this._ports.length) throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'a MeshService needs at least one port', this, { prop: 'port', fix: 'pass port + protocol, ports, or call addPort()' });
    for (const v of this._versions) {
      if (!v.image) throw new WeftValidationError('WEFT_ERR_MISSING_PROP', `version ${v.name} has no image`, this, { prop: `versions.${v.name}.image`, fix: 'set image on the service or on the version' });
    }
    this._workloads.forEach((w) => w._validate());
  }

  /** @internal */
  public _weftResource(): WeftResource<MeshServiceSpec> {
    return asResource({ kind: 'MeshService', name: this.serviceName, namespace: this.namespace, labels: { app: this.serviceName },
      annotations: this.meshed ? undefined : { [MESHED_ANNOTATION]: 'false' } }, this.renderSpec());
  }

  private renderSpec(): MeshServiceSpec {
    return {
      serviceAccount: this.serviceAccountName,
      ports: this.ports,
      versions: this.versions,
      interception: this.interception,
      ...(this._calls.length ? { calls: this._calls.map((c) => ({ name: c.serviceName, namespace: c.namespace })) } : {}),
      ...(this.trafficPolicy ? { trafficPolicy: this.trafficPolicy } : {}),
      ...(this.ingress ? { ingress: true } : {}),
      ...(this.observability ? { observability: this.observability } : {}),
    };
  }

  private renderServicePorts(): k8s.ServicePort[] {
    return this._ports.map((p) => ({
      name: p.name, port: p.port, protocol: 'TCP', appProtocol: APP_PROTOCOL[p.protocol as Protocol],
      targetPort: k8s.IntOrString.fromString(p.name),
    }));
  }
}
