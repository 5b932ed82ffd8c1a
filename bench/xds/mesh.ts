/**
 * The benchmark mesh: one `client` service, N services with two versions each, one CanaryRoute on
 * svc-0 and M endpoints spread over the services. Shared by ads-bench.ts and change-pieces.ts.
 */
const A = 'weft.dev/v1alpha1';

/** Resources and endpoints for buildModel() with the canary at `canaryWeight` % on v2. */
export function benchMesh(services: number, endpointCount: number, canaryWeight: number): { resources: object[]; endpoints: object[] } {
  const resources: object[] = [{
    apiVersion: A, kind: 'MeshService', metadata: { name: 'client', namespace: 'default' },
    spec: { serviceAccount: 'client', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }] },
  }];
  for (let i = 0; i < services; i++) {
    resources.push({
      apiVersion: A, kind: 'MeshService', metadata: { name: `svc-${i}`, namespace: 'default' },
      spec: { serviceAccount: `svc-${i}`, interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }] },
    });
  }
  resources.push({
    apiVersion: A, kind: 'CanaryRoute', metadata: { name: 'canary', namespace: 'default' },
    spec: { service: { name: 'svc-0' }, routes: [{ backends: [{ version: 'v1', weight: 100 - canaryWeight }, { version: 'v2', weight: canaryWeight }] }] },
  });
  const endpoints = Array.from({ length: endpointCount }, (_, i) => ({
    service: `svc-${i % services}`, namespace: 'default', version: i % 2 ? 'v2' : 'v1', address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    ports: { http: 15006 }, ready: true, instance: `ep-${i}`, meshed: true,
  }));
  return { resources, endpoints };
}
