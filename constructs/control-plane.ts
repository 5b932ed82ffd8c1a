/**
 * The control-plane install a Mesh synthesizes: namespace, identity, RBAC (least privilege: Secrets
 * only in its own namespace), an HA Deployment under the restricted Pod Security profile, its
 * Service and a PodDisruptionBudget. No key material: the CA key is made in-cluster at run time.
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { clusterScoped } from './custom-resource';

/** Ports the control plane listens on: xDS over TLS, plaintext xDS for proxyless clients (only when the mesh asks for it), CA, admin. */
export const CONTROL_PLANE_PORTS = { xds: 15010, xdsPlaintext: 15011, ca: 15012, admin: 15014 } as const;

/** The restricted container security context every weft container (except the iptables init) runs with. */
export function restrictedContainer(uid: number): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** What the control plane install needs from its Mesh. */
export interface ControlPlaneOptions {
  readonly namespace: string;
  readonly serviceName: string;
  readonly image: string;
  readonly imagePullPolicy: string;
  readonly replicas: number;
  readonly meshConfigName: string;
  readonly resources: k8s.ResourceRequirements;
  /** Serve plaintext xDS on CONTROL_PLANE_PORTS.xdsPlaintext for proxyless gRPC clients. */
  readonly xdsPlaintext: boolean;
}

/** @internal The control-plane install; a child of Mesh, not a public construct. */
export class ControlPlane extends Construct {
  /** The objects every namespaced control-plane object depends on. */
  public readonly namespaceObject: ApiObject;

  constructor(scope: Construct, id: string, o: ControlPlaneOptions) {
    super(scope, id);
    const labels = { 'app': o.serviceName, 'app.kubernetes.io/name': o.serviceName, 'app.kubernetes.io/part-of': 'weft' };
    const meta = (name: string) => ({ name, namespace: o.namespace, labels: { 'app.kubernetes.io/part-of': 'weft' } });

    this.namespaceObject = clusterScoped(new k8s.KubeNamespace(this, 'Namespace', {
      metadata: { name: o.namespace, labels: { 'app.kubernetes.io/part-of': 'weft', 'pod-security.kubernetes.io/enforce': 'restricted' } },
    }));
    const sa = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(o.serviceName) });

    // Cluster-scoped names must not collide when two meshes share a cluster: the namespace is unique per mesh.
    const clusterName = `${o.serviceName}-${o.namespace}`;
    const cluster = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: clusterName, labels: { 'app.kubernetes.io/part-of': 'weft' } },
      rules: [
        { apiGroups: [''], resources: ['services', 'pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['weft.dev'], resources: ['meshconfigs', 'meshservices', 'canaryroutes', 'mtlspolicies'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['weft.dev'], resources: ['meshconfigs/status', 'meshservices/status', 'canaryroutes/status', 'mtlspolicies/status'], verbs: ['get', 'update', 'patch'] },
        // The CA checks the projected ServiceAccount token a proxy sends with its CSR.
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        // It publishes the trust bundle as ConfigMap weft-ca-root into every meshed namespace.
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update'] },
      ],
    }));
    const clusterBinding = clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: clusterName, labels: { 'app.kubernetes.io/part-of': 'weft' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
      subjects: [{ kind: 'ServiceAccount', name: o.serviceName, namespace: o.namespace }],
    }));
    // Secrets (the CA's root) and leases (one CA signer among the replicas) only in its own namespace.
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: meta(o.serviceName),
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ],
    });
    const roleBinding = new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: meta(o.serviceName),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: o.serviceName },
      subjects: [{ kind: 'ServiceAccount', name: o.serviceName, namespace: o.namespace }],
    });

    const probe = (path: string, initialDelaySeconds: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('admin') }, initialDelaySeconds, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3,
    });
    const deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { ...meta(o.serviceName), labels },
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: { app: o.serviceName } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: o.serviceName,
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [{
                  weight: 100,
                  podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: o.serviceName } } },
                }],
              },
            },
            containers: [{
              name: 'control-plane',
              image: o.image,
              imagePullPolicy: o.imagePullPolicy,
              args: ['control-plane', '--source=kubernetes', `--mesh-config=${o.meshConfigName}`,
                `--xds-port=${CONTROL_PLANE_PORTS.xds}`, `--ca-port=${CONTROL_PLANE_PORTS.ca}`, `--admin-port=${CONTROL_PLANE_PORTS.admin}`,
                ...(o.xdsPlaintext ? [`--xds-plaintext-port=${CONTROL_PLANE_PORTS.xdsPlaintext}`] : [])],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              ],
              ports: [
                { name: 'grpc-xds', containerPort: CONTROL_PLANE_PORTS.xds, protocol: 'TCP' },
                ...(o.xdsPlaintext ? [{ name: 'grpc-xds-plain', containerPort: CONTROL_PLANE_PORTS.xdsPlaintext, protocol: 'TCP' }] : []),
                { name: 'grpc-ca', containerPort: CONTROL_PLANE_PORTS.ca, protocol: 'TCP' },
                { name: 'admin', containerPort: CONTROL_PLANE_PORTS.admin, protocol: 'TCP' },
              ],
              livenessProbe: probe('/live', 10),
              readinessProbe: probe('/ready', 2),
              resources: o.resources,
              securityContext: restrictedContainer(65532),
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            }],
            volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } }],
          },
        },
      },
    });
    const service = new k8s.KubeService(this, 'Service', {
      metadata: { ...meta(o.serviceName), labels },
      spec: {
        selector: { app: o.serviceName },
        ports: [
          { name: 'grpc-xds', port: CONTROL_PLANE_PORTS.xds, targetPort: k8s.IntOrString.fromString('grpc-xds'), appProtocol: 'grpc' },
          ...(o.xdsPlaintext ? [{ name: 'grpc-xds-plain', port: CONTROL_PLANE_PORTS.xdsPlaintext, targetPort: k8s.IntOrString.fromString('grpc-xds-plain'), appProtocol: 'grpc' }] : []),
          { name: 'grpc-ca', port: CONTROL_PLANE_PORTS.ca, targetPort: k8s.IntOrString.fromString('grpc-ca'), appProtocol: 'grpc' },
          { name: 'http-admin', port: CONTROL_PLANE_PORTS.admin, targetPort: k8s.IntOrString.fromString('admin'), appProtocol: 'http' },
        ],
      },
    });
    const pdb = new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
      metadata: meta(o.serviceName),
      spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: { app: o.serviceName } } },
    });
    for (const obj of [sa, role, roleBinding, deployment, service, pdb]) obj.node.addDependency(this.namespaceObject);
    roleBinding.node.addDependency(role);
    clusterBinding.node.addDependency(cluster);
    deployment.node.addDependency(sa, clusterBinding, roleBinding);
  }
}
