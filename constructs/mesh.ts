/**
 * `Mesh`: the mesh-wide settings (trust domain, default mTLS mode, the weft image, proxy resources),
 * the CRDs, the `MeshConfig` resource and the control-plane install. One Mesh per app; services in
 * any chart of the app reference it. Its synth-time validation runs the whole-mesh rules.
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { allCrds } from '../api/crds';
import { MESH_REFERENCE_ANNOTATION } from '../api/mesh-rules';
import { DNS1123_SUBDOMAIN } from '../api/names';
import { MeshConfigSpec, WeftResource } from '../api/resources';
import { checkDuration, checkInt, checkName } from './checks';
import { CONTROL_PLANE_PORTS, ControlPlane } from './control-plane';
import { asResource, clusterScoped, customResource, isEmitter, IWeftResourceEmitter, registerEmitter } from './custom-resource';
import { WeftValidationError } from './errors';
import { installCleanErrors } from './clean-errors';
import { checkMesh } from './mesh-check';
import { checkObservability, ObservabilityOptions, podMonitor } from './observability';
import { MtlsMode } from './values';
import type { ObservabilitySpec } from '../api/observability';

/** Default OCI repository of the one weft image (proxy and control plane, different entrypoints). */
export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/weft-mesh/weft';
/** Default tag of the weft image. */
export const DEFAULT_IMAGE_TAG = '0.1.0';

/** CPU/memory of each sidecar proxy, as Kubernetes quantities. */
export interface ProxyResources {
  /** @default '50m' */
  readonly cpuRequest?: string;
  /** @default '64Mi' */
  readonly memoryRequest?: string;
  /** @default - no CPU limit (throttling a proxy adds latency to every request) */
  readonly cpuLimit?: string;
  /** @default '256Mi' */
  readonly memoryLimit?: string;
}

/** Props of a {@link Mesh}. */
export interface MeshProps {
  /**
   * SPIFFE trust domain: identities are `spiffe://<trustDomain>/ns/<ns>/sa/<sa>`.
   * @default 'cluster.local'
   */
  readonly trustDomain?: string;
  /**
   * mTLS mode wherever no MtlsPolicy says otherwise.
   * @default MtlsMode.PERMISSIVE (as Istio: adopt the mesh first, then go STRICT)
   */
  readonly defaultMtlsMode?: MtlsMode;
  /**
   * What a request no ALLOW rule covers gets when a workload has no ALLOW rule at all.
   * @default 'allow'
   */
  readonly defaultInboundPolicy?: 'allow' | 'deny';
  /**
   * Repository of the weft image (used by both proxy and control plane).
   * @default 'ghcr.io/weft-mesh/weft'
   */
  readonly imageRepository?: string;
  /**
   * Tag of the weft image.
   * @default '0.1.0'
   */
  readonly imageTag?: string;
  /**
   * Image of the iptables init container; it must provide `iptables-restore` (nft or legacy backend
   * matching the nodes).
   * @default - the weft image (which then has to ship iptables-restore)
   */
  readonly iptablesImage?: string;
  /**
   * Image pull policy of weft containers.
   * @default 'IfNotPresent'
   */
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * Namespace of the control plane (mesh-wide MtlsPolicies live here too).
   * @default 'weft-system'
   */
  readonly namespace?: string;
  /**
   * Control-plane replicas (spread over nodes; a PodDisruptionBudget keeps one up).
   * @default 2
   */
  readonly controlPlaneReplicas?: number;
  /**
   * Lifetime of workload certificates; proxies renew at ~70% of it.
   * @default '24h'
   */
  readonly certificateTtl?: string;
  /**
   * Resources of each sidecar proxy.
   * @default - requests 50m CPU / 64Mi, limit 256Mi memory, no CPU limit
   */
  readonly proxyResources?: ProxyResources;
  /**
   * Name of the MeshConfig resource.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Also serve xDS in plaintext on port 15011 (`xdsPlaintextAddress`) for proxyless gRPC clients:
   * `@grpc/grpc-js-xds` dials the control plane with insecure credentials only. Sidecars keep using
   * TLS on 15010. Anyone who reaches the port reads the mesh's config and may self-register, so
   * leave it off unless the mesh has proxyless clients (docs/security.md, "xDS over TLS").
   * @default false
   */
  readonly proxylessXds?: boolean;
  /**
   * Most requests one request may become along a call path (the product of tries of every hop);
   * the call-graph check rejects a path above it with WEFT_ERR_RETRY_AMPLIFICATION.
   * @default 10
   */
  readonly maxRetryAmplification?: number;
  /**
   * Whether this app installs the mesh: the CRDs, the MeshConfig and the control plane. `false` in a
   * team repository whose services join a mesh a platform repository installs (see
   * {@link Mesh.fromExisting}); the props must then match that mesh's (trust domain, namespace, image).
   * @default true
   */
  readonly installControlPlane?: boolean;
  /**
   * Tracing and access logs of every sidecar (a MeshService's `observability` overrides them),
   * rendered into each sidecar's bootstrap; `weft up` reads them from the MeshConfig. Metrics are
   * always on (docs/observability.md).
   * @default - tracing and access logs off
   */
  readonly observability?: ObservabilityOptions;
}

/**
 * What a team repository needs to know about a mesh another repository installs: the same props as
 * {@link MeshProps} that shape its sidecars and checks (they must match the installed mesh's), with
 * the trust domain required. Defaults as in MeshProps.
 */
export interface ExistingMeshProps extends Pick<MeshProps, 'namespace' | 'name'
  | 'imageRepository' | 'imageTag' | 'iptablesImage' | 'imagePullPolicy' | 'proxyResources' | 'maxRetryAmplification' | 'observability'> {
  /** SPIFFE trust domain of the installed mesh. */
  readonly trustDomain: string;
  /**
   * mTLS mode of the installed mesh where no MtlsPolicy says otherwise. Required: assuming the
   * loosest mode would let the checks pass calls the installed mesh refuses.
   */
  readonly defaultMtlsMode: MtlsMode;
  /** Inbound policy of the installed mesh (required, for the same reason). */
  readonly defaultInboundPolicy: 'allow' | 'deny';
}

const kMesh = Symbol.for('weft.constructs.mesh');

/** The mesh: settings, CRDs, MeshConfig and the control plane. */
export class Mesh extends Construct implements IWeftResourceEmitter {
  /** Whether `x` is a Mesh (works across copies of this module). */
  public static isMesh(x: unknown): x is Mesh {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[kMesh] === true;
  }

  /**
   * A reference to a mesh that another app (a platform repository) installs: services, routes and
   * policies join it and are checked against it at synth, but this app emits no CRDs, MeshConfig or
   * control plane. Same as `new Mesh(scope, id, { ...props, installControlPlane: false })`.
   */
  public static fromExisting(scope: Construct, id: string, props: ExistingMeshProps): Mesh {
    return new Mesh(scope, id, { ...props, installControlPlane: false });
  }

  /** MeshConfig name. */
  public readonly name: string;
  public readonly trustDomain: string;
  public readonly defaultMtlsMode: MtlsMode;
  /** Control-plane namespace. */
  public readonly namespace: string;
  /** `repository:tag` of the weft image. */
  public readonly image: string;
  public readonly imagePullPolicy: string;
  /** Image of the iptables init container. */
  public readonly iptablesImage: string;
  /** Service name of the control plane. */
  public readonly controlPlaneService = 'weft-control-plane';
  /** Resolved proxy resources. */
  public readonly proxyResources: Required<Omit<ProxyResources, 'cpuLimit'>> & Pick<ProxyResources, 'cpuLimit'>;
  /** The CRDs; every custom resource depends on them so they apply first. */
  public readonly crds: Construct;
  /** The control-plane namespace object (undefined when `installControlPlane` is false). */
  public readonly namespaceObject?: ApiObject;
  /** Whether this app installs the CRDs, MeshConfig and control plane. */
  public readonly installsControlPlane: boolean;
  /** Most requests one request may become along a call path. */
  public readonly maxRetryAmplification: number;

  /** The checked `observability` prop. */
  public readonly observability?: ObservabilitySpec;

  private readonly spec: MeshConfigSpec;
  private _meshWideMode?: { readonly path: string; readonly mode: MtlsMode };

  constructor(scope: Construct, id: string, props: MeshProps = {}) {
    super(scope, id);
    installCleanErrors();
    Object.defineProperty(this, kMesh, { value: true });
    const other = this.node.root.node.findAll().find((c) => c !== this && Mesh.isMesh(c));
    if (other) {
      throw new WeftValidationError('WEFT_ERR_MULTIPLE_MESHES', `a Mesh already exists at ${other.node.path}`, this, { fix: 'create one Mesh per app and pass it to every construct' });
    }
    this.name = checkName(this, 'name', props.name ?? id);
    this.trustDomain = props.trustDomain ?? 'cluster.local';
    if (!DNS1123_SUBDOMAIN.test(this.trustDomain)) {
      throw new WeftValidationError('WEFT_ERR_INVALID_NAME', 'trustDomain must be a DNS name', this, { prop: 'trustDomain', value: this.trustDomain, fix: 'use a DNS name such as "shop.local"' });
    }
    this.defaultMtlsMode = props.defaultMtlsMode ?? MtlsMode.PERMISSIVE;
    this.namespace = checkName(this, 'namespace', props.namespace ?? 'weft-system');
    this.image = `${props.imageRepository ?? DEFAULT_IMAGE_REPOSITORY}:${props.imageTag ?? DEFAULT_IMAGE_TAG}`;
    this.imagePullPolicy = props.imagePullPolicy ?? 'IfNotPresent';
    this.iptablesImage = props.iptablesImage ?? this.image;
    const replicas = checkInt(this, 'controlPlaneReplicas', props.controlPlaneReplicas ?? 2, 1)!;
    const certificateTtl = props.certificateTtl ?? '24h';
    checkDuration(this, 'certificateTtl', certificateTtl);
    this.proxyResources = {
      cpuRequest: props.proxyResources?.cpuRequest ?? '50m',
      memoryRequest: props.proxyResources?.memoryRequest ?? '64Mi',
      memoryLimit: props.proxyResources?.memoryLimit ?? '256Mi',
      ...(props.proxyResources?.cpuLimit ? { cpuLimit: props.proxyResources.cpuLimit } : {}),
    };

    this.maxRetryAmplification = checkInt(this, 'maxRetryAmplification', props.maxRetryAmplification ?? 10, 1)!;
    this.installsControlPlane = props.installControlPlane ?? true;
    this.observability = checkObservability(this, 'observability', props.observability);

    this.crds = new Construct(this, 'Crds');
    if (this.installsControlPlane) {
      allCrds().forEach((crd) => {
        const { apiVersion, kind, metadata, ...rest } = crd as { apiVersion: string; kind: string; metadata: { name: string } };
        clusterScoped(new ApiObject(this.crds, metadata.name, { apiVersion, kind, metadata, ...rest }));
      });
    }

    const cp = !this.installsControlPlane ? undefined : new ControlPlane(this, 'ControlPlane', {
      namespace: this.namespace,
      serviceName: this.controlPlaneService,
      image: this.image,
      imagePullPolicy: this.imagePullPolicy,
      replicas,
      meshConfigName: this.name,
      xdsPlaintext: props.proxylessXds ?? false,
      resources: {
        requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') },
        limits: { memory: k8s.Quantity.fromString('512Mi') },
      },
    });
    this.namespaceObject = cp?.namespaceObject;
    if (cp && props.observability?.podMonitor) podMonitor(this, this.namespace).node.addDependency(cp.namespaceObject);

    this.spec = {
      trustDomain: this.trustDomain,
      defaultMtlsMode: this.defaultMtlsMode,
      defaultInboundPolicy: props.defaultInboundPolicy ?? 'allow',
      proxyImage: this.image,
      controlPlaneImage: this.image,
      controlPlane: { namespace: this.namespace, service: this.controlPlaneService, xdsPort: CONTROL_PLANE_PORTS.xds, caPort: CONTROL_PLANE_PORTS.ca },
      certificateTtl,
      proxyResources: { ...this.proxyResources },
      ...(props.maxRetryAmplification !== undefined ? { maxRetryAmplification: this.maxRetryAmplification } : {}),
      ...(this.observability ? { observability: this.observability } : {}),
    };
    // A mesh reference emits no MeshConfig (the platform's is in the cluster), but its settings still feed the checks.
    if (this.installsControlPlane) customResource(this, { kind: 'MeshConfig', name: this.name, spec: () => this.renderSpec() }).node.addDependency(this.crds);
    registerEmitter(this, 'MeshConfig');
    this.node.addValidation({ validate: () => { checkMesh(this); return []; } });
  }

  /** `host:port` of the control plane's xDS server, as proxies dial it. */
  public get xdsAddress(): string {
    return `${this.controlPlaneService}.${this.namespace}.svc:${CONTROL_PLANE_PORTS.xds}`;
  }

  /** `host:port` of the plaintext xDS port for proxyless gRPC clients (served only with `proxylessXds: true`). */
  public get xdsPlaintextAddress(): string {
    return `${this.controlPlaneService}.${this.namespace}.svc:${CONTROL_PLANE_PORTS.xdsPlaintext}`;
  }

  /** SPIFFE ID of the control plane's serving certificate (xDS and CA), which sidecars check. */
  public get controlPlaneIdentity(): string {
    return `spiffe://${this.trustDomain}/ns/${this.namespace}/sa/${this.controlPlaneService}`;
  }

  /** `host:port` of the CA. */
  public get caAddress(): string {
    return `${this.controlPlaneService}.${this.namespace}.svc:${CONTROL_PLANE_PORTS.ca}`;
  }

  /** @internal */
  public _weftResource(): WeftResource<unknown> {
    return asResource({ kind: 'MeshConfig', name: this.name, ...(this.installsControlPlane ? {} : { annotations: { [MESH_REFERENCE_ANNOTATION]: 'true' } }) }, this.renderSpec());
  }

  /**
   * @internal A mesh-scoped MtlsPolicy's mode is also written as the MeshConfig default, so the mode
   * holds whether the control plane reads root-namespace policies (Istio) or only the MeshConfig.
   */
  public _setMeshWideMode(policy: Construct, mode: MtlsMode): void {
    if (this._meshWideMode && this._meshWideMode.mode !== mode) {
      throw new WeftValidationError('WEFT_ERR_INVALID_SCOPE', `a mesh-wide MtlsPolicy at ${this._meshWideMode.path} already sets mode ${this._meshWideMode.mode}`, policy, {
        prop: 'mode', value: mode, fix: 'keep one mesh-wide mode; scope the other policy to a namespace or service',
      });
    }
    this._meshWideMode = { path: policy.node.path, mode };
  }

  private renderSpec(): MeshConfigSpec {
    return this._meshWideMode ? { ...this.spec, defaultMtlsMode: this._meshWideMode.mode } : this.spec;
  }

  /** @internal */
  public _validateLocal(): void {
    // Everything is checked in the constructor; the MeshConfig has no mutators.
  }
}

/** An emitter that joins a mesh. */
interface MeshMember extends IWeftResourceEmitter { readonly mesh: Mesh }

/**
 * Synth validation of a service, route or policy. With its Mesh in the same App the Mesh's check
 * covers it (all problems at once). Otherwise nothing would: every member of this App whose Mesh
 * is elsewhere is reported with WEFT_ERR_NO_MESH, together with their local problems.
 */
export function validateUnlessMeshDoes(c: MeshMember, mesh: Mesh): void {
  if (Mesh.isMesh(mesh) && mesh.node.root === c.node.root) return;
  const members = c.node.root.node.findAll().filter(isEmitter).filter((e): e is MeshMember => Mesh.isMesh((e as Partial<MeshMember>).mesh));
  const errors: WeftValidationError[] = [];
  for (const m of members) {
    if (m.mesh.node.root === c.node.root) continue;
    errors.push(new WeftValidationError('WEFT_ERR_NO_MESH', `this App has no Mesh for it: its Mesh ${m.mesh.node.path} belongs to another App, so nothing checks, installs or routes it`, m, {
      prop: 'mesh', fix: 'create the Mesh in this App (one per App), or Mesh.fromExisting(scope, \'mesh\', { trustDomain, namespace, defaultMtlsMode, defaultInboundPolicy }) when a platform repository installs the mesh',
    }));
    try {
      m._validateLocal();
    } catch (e) {
      if (!WeftValidationError.isWeftValidationError(e)) throw e;
      errors.push(...e.errors);
    }
  }
  if (errors.length) throw WeftValidationError.aggregate(errors);
}
