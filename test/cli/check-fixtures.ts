/** A small valid dist (CRDs, mesh resources, a workload) written to a real temp dir, for `weft check` tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { allCrds } from '../../api/crds';

export const meshConfig = {
  apiVersion: 'weft.dev/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' },
  spec: {
    trustDomain: 'shop.local', defaultMtlsMode: 'STRICT', defaultInboundPolicy: 'allow',
    proxyImage: 'ghcr.io/weft-mesh/weft:0.1.0', controlPlaneImage: 'ghcr.io/weft-mesh/weft:0.1.0',
    controlPlane: { namespace: 'weft-system', service: 'weft-control-plane', xdsPort: 15010, caPort: 15012 },
    certificateTtl: '24h',
  },
};

export function meshService(name: string, versions: string[], calls: string[] = []) {
  return {
    apiVersion: 'weft.dev/v1alpha1', kind: 'MeshService', metadata: { name, namespace: 'shop' },
    spec: {
      serviceAccount: name,
      ports: [{ name: 'http', port: 9080, protocol: 'http' }],
      versions: versions.map((v) => ({ name: v, replicas: 1 })),
      interception: 'explicit',
      ...(calls.length ? { calls: calls.map((c) => ({ name: c })) } : {}),
    },
  };
}

export const canaryRoute = {
  apiVersion: 'weft.dev/v1alpha1', kind: 'CanaryRoute', metadata: { name: 'reviews-canary', namespace: 'shop' },
  spec: { service: { name: 'reviews' }, routes: [{ name: 'split', backends: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }] }] },
};

export const deployment = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'reviews-v1', namespace: 'shop' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'reviews', version: 'v1' } },
    template: {
      metadata: { labels: { app: 'reviews', version: 'v1' } },
      spec: {
        serviceAccountName: 'reviews',
        initContainers: [{ name: 'weft-proxy', image: 'ghcr.io/weft-mesh/weft:0.1.0', args: ['proxy'], restartPolicy: 'Always' }],
        containers: [{ name: 'app', image: 'reviews:1', ports: [{ containerPort: 9080 }] }],
      },
    },
  },
};

export const service = {
  apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'shop' },
  spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, targetPort: 9080 }] },
};

/** Objects of a consistent mesh. */
export function validObjects(): Record<string, unknown>[] {
  return [meshConfig, meshService('reviews', ['v1', 'v2'], ['ratings']), meshService('ratings', ['v1']), canaryRoute, deployment, service];
}

/** Writes `files` (name → objects, or raw text) into a fresh temp dir and returns its path. */
export function writeDist(files: Record<string, Record<string, unknown>[] | string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-check-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : content.map((o) => stringify(o)).join('---\n'));
  }
  return dir;
}

/** A valid dist: CRDs in one file, the mesh in another. */
export function validDist(): string {
  return writeDist({ 'weft.crds.yaml': allCrds(), 'mesh.k8s.yaml': validObjects() });
}
