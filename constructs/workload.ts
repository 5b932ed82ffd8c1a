/**
 * One version of a MeshService: its Deployment with the proxy injected at synth time as a native
 * sidecar (initContainer, restartPolicy Always), the bootstrap ConfigMap, the projected token the
 * proxy sends with its CSR, and, in iptables mode, the one privileged init container.
 */
import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Bootstrap, parseBootstrap, RESERVED_PORTS } from '../api/bootstrap';
import { WeftError } from '../api/errors';
import { effectiveMtlsMode } from '../api/mesh-rules';
import { bootstrapObservability, mergeObservability } from '../api/observability';
import { scrapeAnnotations } from './observability';
import type { MeshConfigSpec, MtlsPolicySpec, WeftResource } from '../api/resources';
import { emitterKind, isEmitter, IWeftResourceEmitter } from './custom-resource';
import { restrictedContainer } from './control-plane';
import { probePort, ProbeOptions, renderProbe } from './container-options';
import { WeftValidationError } from './errors';
import type { MeshService } from './mesh-service';
import { Interception } from './values';

/** UID the proxy runs as; the iptables rules let its own traffic through untouched. */
export const PROXY_UID = 1337;
/** Default UID of the app container (restricted profile); `MeshService` `appUser` overrides it. */
export const APP_UID = 1000;
/** Where the bootstrap ConfigMap is mounted (proxy and iptables init). */
export const BOOTSTRAP_DIR = '/etc/weft';
export const BOOTSTRAP_PATH = `${BOOTSTRAP_DIR}/bootstrap.json`;
/** ConfigMap key (and file under BOOTSTRAP_DIR) of the iptables-restore input. */
export const IPTABLES_RULES_FILE = 'iptables.rules';
/** Where the projected ServiceAccount token (audience `weft`) is mounted. */
export const TOKEN_DIR = '/var/run/secrets/weft/tokens';
export const TOKEN_FILE = 'weft-token';
/** Audience of the projected token; the CA's TokenReview checks it. */
export const TOKEN_AUDIENCE = 'weft';
/**
 * Where the ConfigMap `weft-ca-root` (the mesh's trust bundle, published into every meshed namespace
 * by the control plane, like Istio's `istio-ca-root-cert`) is mounted: the proxy verifies the CA
 * endpoint with it before it holds a certificate.
 */
export const CA_ROOT_DIR = '/var/run/secrets/weft/ca';
export const CA_ROOT_CONFIGMAP = 'weft-ca-root';
export const CA_ROOT_FILE = 'root-cert.pem';

/** What a version workload needs. */
export interface VersionWorkloadOptions {
  readonly service: MeshService;
  readonly version: string;
  readonly replicas: number;
  readonly image?: string;
  readonly env: Record<string, string>;
  /** App container resources. */
  readonly resources?: k8s.ResourceRequirements;
}

/** @internal The objects of one version; created by MeshService. */
export class VersionWorkload extends Construct {
  public readonly deployment: ApiObject;
  public readonly bootstrapConfigMap?: ApiObject;
  /** The version name. */
  public readonly version: string;
  private readonly o: VersionWorkloadOptions;
  private readonly name: string;

  constructor(scope: Construct, id: string, o: VersionWorkloadOptions) {
    super(scope, id);
    this.o = o;
    this.version = o.version;
    const svc = o.service;
    this.name = `${svc.serviceName}-${o.version}`;
    if (svc.meshed) {
      this.bootstrapConfigMap = new k8s.KubeConfigMap(this, 'Bootstrap', {
        metadata: { name: `${this.name}-weft`, namespace: svc.namespace, labels: { app: svc.serviceName, version: o.version } },
        data: Lazy.any({ produce: () => ({
          'bootstrap.json': `${JSON.stringify(this.bootstrap(), null, 2)}\n`,
          ...(svc.interception === Interception.IPTABLES ? { [IPTABLES_RULES_FILE]: `${this.rules().join('\n')}\n` } : {}),
        }) }),
      });
    }
    const labels = { app: svc.serviceName, version: o.version };
    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: this.name, namespace: svc.namespace, labels },
      spec: Lazy.any({ produce: () => this.renderSpec(labels) }),
    });
    this.deployment.node.addDependency(svc.serviceAccount);
    if (this.bootstrapConfigMap) this.deployment.node.addDependency(this.bootstrapConfigMap);
  }

  /** The proxy bootstrap of this version, validated with the proxy's own parser. */
  public bootstrap(): Bootstrap {
    const svc = this.o.service;
    const candidate = {
      node: { id: this.name, service: svc.serviceName, namespace: svc.namespace, version: this.o.version, serviceAccount: svc.serviceAccountName },
      // xDS over TLS (the trust anchor below), checked against the control plane's SPIFFE ID
      controlPlane: { xds: svc.mesh.xdsAddress, ca: svc.mesh.caAddress, xdsIdentity: svc.mesh.controlPlaneIdentity },
      ports: { ...RESERVED_PORTS, app: Object.fromEntries(svc.ports.map((p) => [p.name, p.targetPort ?? p.port])) },
      // the kubelet probes /ready and /live on the pod IP; /config_dump and /shutdown answer loopback peers only
      adminBindAddress: '0.0.0.0',
      interception: svc.interception,
      identity: { trustDomain: svc.mesh.trustDomain, tokenPath: `${TOKEN_DIR}/${TOKEN_FILE}`, caTrustAnchorFile: `${CA_ROOT_DIR}/${CA_ROOT_FILE}`, required: this.strictEverywhere() },
      ...bootstrapObservability(mergeObservability(svc.mesh.observability, svc.observability)),
    };
    try {
      return parseBootstrap(candidate);
    } catch (e) {
      throw new WeftValidationError('WEFT_ERR_INVALID_RESOURCE', `the proxy bootstrap of ${this.name} is invalid: ${(e as WeftError).message}`, this, { prop: 'bootstrap' });
    }
  }

  /**
   * Whether every port of the service is STRICT under the app's MtlsPolicies (the proxy then needs a
   * certificate before it is ready and refuses plaintext inbound; PERMISSIVE ports must not).
   */
  private strictEverywhere(): boolean {
    const ports = this.o.service.ports;
    const strict = this.strictPorts();
    return ports.length > 0 && ports.every((port) => strict.has(port.name));
  }

  /** Names of the service's ports that are STRICT under the app's MtlsPolicies. */
  private strictPorts(): Set<string> {
    const svc = this.o.service;
    // only the policies and the MeshConfig: rendering every MeshService here made synth O(n²)
    const resources = this.node.root.node.findAll()
      .filter((c) => isEmitter(c) && (emitterKind(c) === 'MtlsPolicy' || emitterKind(c) === 'MeshConfig'))
      .map((c) => (c as IWeftResourceEmitter)._weftResource());
    const policies = resources.filter((r) => r.kind === 'MtlsPolicy') as WeftResource<MtlsPolicySpec>[];
    const cfg = resources.find((r) => r.kind === 'MeshConfig') as WeftResource<MeshConfigSpec> | undefined;
    return new Set(svc.ports.filter((port) => effectiveMtlsMode({ ns: svc.namespace, name: svc.serviceName, port }, policies, cfg).mode === 'STRICT').map((p) => p.name));
  }

  /** @internal Synth-time completeness. */
  public _validate(): void {
    const svc = this.o.service;
    if (svc.meshed && svc.ports.length) this.bootstrap();
    const probes = svc.probes ?? {};
    for (const kind of ['readiness', 'liveness', 'startup'] as const) {
      const p = probes[kind];
      if (!p) continue;
      const port = probePort(svc, `probes.${kind}`, p, svc.ports);
      if (port === undefined || !svc.meshed || svc.interception !== Interception.IPTABLES) continue;
      // iptables sends the kubelet's plaintext probe of a declared port to the sidecar, which refuses plaintext on STRICT.
      const declared = svc.ports.find((x) => (x.targetPort ?? x.port) === port);
      if (declared && this.strictPorts().has(declared.name)) {
        throw new WeftValidationError('WEFT_ERR_PROBE_INTERCEPTED', `the ${kind} probe targets port ${port} (${declared.name}), whose inbound the sidecar captures and which is STRICT mTLS: the kubelet's plaintext probe would be refused and the pod never become ready`, svc, {
          prop: `probes.${kind}`, value: p, fix: 'serve health on a port the service does not declare (iptables leaves it alone), use an exec probe, or make that port PERMISSIVE',
        });
      }
    }
  }

  private renderSpec(labels: Record<string, string>): k8s.DeploymentSpec {
    const svc = this.o.service;
    const ports = svc.ports;
    const env: k8s.EnvVar[] = [
      ...(ports.length ? [{ name: 'PORT', value: String(ports[0].targetPort ?? ports[0].port) }] : []),
      ...Object.entries(this.o.env).map(([name, value]) => ({ name, value })),
    ];
    if (svc.meshed && svc.interception === Interception.EXPLICIT) {
      const proxy = `http://127.0.0.1:${RESERVED_PORTS.outbound}`;
      env.push({ name: 'HTTP_PROXY', value: proxy }, { name: 'http_proxy', value: proxy }, { name: 'NO_PROXY', value: 'localhost,127.0.0.1,::1' });
    }
    const app: k8s.Container = {
      name: svc.serviceName,
      image: this.o.image,
      ports: ports.map((p) => ({ name: p.name, containerPort: p.targetPort ?? p.port, protocol: 'TCP' })),
      env,
      securityContext: { ...restrictedContainer(svc.appUser), readOnlyRootFilesystem: svc.readOnlyRootFilesystem },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      ...(this.o.resources ? { resources: this.o.resources } : {}),
      ...this.probes(),
    };
    const volumes: k8s.Volume[] = [{ name: 'tmp', emptyDir: {} }];
    const initContainers: k8s.Container[] = [];
    if (svc.meshed) {
      if (svc.interception === Interception.IPTABLES) initContainers.push(this.iptablesInit());
      initContainers.push(this.proxySidecar());
      volumes.push(
        { name: 'weft-bootstrap', configMap: { name: `${this.name}-weft` } },
        { name: 'weft-token', projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: 3600, path: TOKEN_FILE } }] } },
        // Not optional: until the control plane has published the root, the pod waits (as with istio-ca-root-cert).
        { name: 'weft-ca-root', configMap: { name: CA_ROOT_CONFIGMAP, items: [{ key: CA_ROOT_FILE, path: CA_ROOT_FILE }] } },
        { name: 'weft-tmp', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } },
      );
    }
    return {
      replicas: this.o.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          annotations: { 'kubectl.kubernetes.io/default-container': svc.serviceName, ...(svc.meshed ? { 'weft.dev/proxy': 'injected', ...scrapeAnnotations(RESERVED_PORTS.admin) } : {}) },
        },
        spec: {
          serviceAccountName: svc.serviceAccountName,
          automountServiceAccountToken: false,
          // fsGroup lets the proxy (a non-root UID) read the projected token.
          securityContext: { seccompProfile: { type: 'RuntimeDefault' }, ...(svc.meshed ? { fsGroup: PROXY_UID } : {}) },
          ...(initContainers.length ? { initContainers } : {}),
          containers: [app],
          volumes,
        },
      },
    };
  }

  private probes(): Pick<k8s.Container, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
    const svc = this.o.service;
    const p = svc.probes ?? {};
    // Unknown port names are reported by _validate(); render nothing for them here.
    const render = (kind: string, o: ProbeOptions) => {
      try {
        return renderProbe(o, probePort(svc, `probes.${kind}`, o, svc.ports));
      } catch {
        return undefined;
      }
    };
    const out: Pick<k8s.Container, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> = {};
    if (p.readiness) Object.assign(out, { readinessProbe: render('readiness', p.readiness) });
    if (p.liveness) Object.assign(out, { livenessProbe: render('liveness', p.liveness) });
    if (p.startup) Object.assign(out, { startupProbe: render('startup', p.startup) });
    return out;
  }

  private proxySidecar(): k8s.Container {
    const mesh = this.o.service.mesh;
    const own = this.o.service.sidecar;
    const r = { ...mesh.proxyResources, ...Object.fromEntries(Object.entries(own?.resources ?? {}).filter(([, v]) => v !== undefined)) } as typeof mesh.proxyResources;
    const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromNumber(RESERVED_PORTS.admin) }, periodSeconds, failureThreshold, timeoutSeconds: 1,
    });
    const field = (name: string, fieldPath: string): k8s.EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    return {
      name: 'weft-proxy',
      image: mesh.image,
      imagePullPolicy: mesh.imagePullPolicy,
      // Native sidecar: starts before the app, stays up, and is stopped after it.
      restartPolicy: 'Always',
      args: ['proxy', `--bootstrap=${BOOTSTRAP_PATH}`],
      env: [
        field('POD_NAME', 'metadata.name'), field('POD_NAMESPACE', 'metadata.namespace'), field('POD_IP', 'status.podIP'),
        ...(own?.logLevel ? [{ name: 'WEFT_LOG_LEVEL', value: own.logLevel }] : []),
      ],
      ports: [
        { name: 'weft-inbound', containerPort: RESERVED_PORTS.inbound, protocol: 'TCP' },
        { name: 'weft-admin', containerPort: RESERVED_PORTS.admin, protocol: 'TCP' },
      ],
      // The startup probe holds the app back until the proxy has config and a certificate.
      startupProbe: probe('/ready', 1, 120),
      readinessProbe: probe('/ready', 2, 3),
      livenessProbe: probe('/live', 10, 3),
      resources: {
        requests: { cpu: k8s.Quantity.fromString(r.cpuRequest), memory: k8s.Quantity.fromString(r.memoryRequest) },
        limits: { memory: k8s.Quantity.fromString(r.memoryLimit), ...(r.cpuLimit ? { cpu: k8s.Quantity.fromString(r.cpuLimit) } : {}) },
      },
      securityContext: restrictedContainer(PROXY_UID),
      volumeMounts: [
        { name: 'weft-bootstrap', mountPath: BOOTSTRAP_DIR, readOnly: true },
        { name: 'weft-token', mountPath: TOKEN_DIR, readOnly: true },
        { name: 'weft-ca-root', mountPath: CA_ROOT_DIR, readOnly: true },
        { name: 'weft-tmp', mountPath: '/tmp' },
      ],
    };
  }

  /** The nat rules of this version (from the ports declared so far). */
  public rules(): string[] {
    return iptablesRules(this.o.service.ports.map((p) => p.targetPort ?? p.port));
  }

  /**
   * The only container with NET_ADMIN/NET_RAW: loads the rules file from the bootstrap ConfigMap
   * with iptables-restore (atomic, no shell needed in the image), then exits.
   */
  private iptablesInit(): k8s.Container {
    const mesh = this.o.service.mesh;
    return {
      name: 'weft-init',
      image: mesh.iptablesImage,
      imagePullPolicy: mesh.imagePullPolicy,
      command: ['iptables-restore', '--noflush', `${BOOTSTRAP_DIR}/${IPTABLES_RULES_FILE}`],
      volumeMounts: [{ name: 'weft-bootstrap', mountPath: BOOTSTRAP_DIR, readOnly: true }],
      resources: { requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('16Mi') }, limits: { memory: k8s.Quantity.fromString('64Mi') } },
      securityContext: {
        runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, privileged: false, allowPrivilegeEscalation: false,
        // iptables-restore takes the xtables lock under /run.
        readOnlyRootFilesystem: false,
        capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
    };
  }
}

/**
 * The nat rules, in iptables-restore syntax: inbound connections to the declared app ports go to the
 * proxy's inbound port; outbound TCP from anyone but the proxy's UID goes to its outbound port.
 * Loopback and DNS stay untouched.
 */
export function iptablesRules(appPorts: readonly number[]): string[] {
  return [
    '*nat',
    ':WEFT_INBOUND - [0:0]',
    ':WEFT_OUTPUT - [0:0]',
    '-A PREROUTING -p tcp -j WEFT_INBOUND',
    ...[...new Set(appPorts)].map((p) => `-A WEFT_INBOUND -p tcp --dport ${p} -j REDIRECT --to-ports ${RESERVED_PORTS.inbound}`),
    '-A OUTPUT -p tcp -j WEFT_OUTPUT',
    `-A WEFT_OUTPUT -m owner --uid-owner ${PROXY_UID} -j RETURN`,
    '-A WEFT_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A WEFT_OUTPUT -p tcp --dport 53 -j RETURN',
    `-A WEFT_OUTPUT -p tcp -j REDIRECT --to-ports ${RESERVED_PORTS.outbound}`,
    'COMMIT',
  ];
}
