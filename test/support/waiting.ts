/** Test helpers shared by the process-level proxy tests: bounded polling and static identity dirs. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeCa, makeLeaf } from './certs';

/** Resolves once `cond` holds (polled every 50 ms); rejects naming `what` after `ms`. */
export function until(cond: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = async (): Promise<void> => {
      if (await cond().catch(() => false)) return resolve();
      if (Date.now() - start > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(() => void tick(), 50);
    };
    void tick();
  });
}

/** A bootstrap `identity.staticDir` (cert.pem, key.pem, ca.pem) for `spiffe://<td>/ns/default/sa/<sa>`. */
export async function staticIdentityDir(root: string, ca: Awaited<ReturnType<typeof makeCa>>, trustDomain: string, sa: string): Promise<string> {
  const dir = path.join(root, `id-${sa}`);
  fs.mkdirSync(dir);
  const leaf = await makeLeaf(ca, `spiffe://${trustDomain}/ns/default/sa/${sa}`);
  fs.writeFileSync(path.join(dir, 'cert.pem'), leaf.certPem);
  fs.writeFileSync(path.join(dir, 'key.pem'), leaf.keyPem);
  fs.writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
  return dir;
}

/** A STRICT, allow-by-default MeshConfig document for local-source tests (YAML, no trailing `---`). */
export function strictMeshConfigYaml(trustDomain: string, name = 'mesh'): string {
  return `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: ${name} }
spec:
  trustDomain: ${trustDomain}
  defaultMtlsMode: STRICT
  defaultInboundPolicy: allow
  proxyImage: weft/proxy:dev
  controlPlaneImage: weft/cp:dev
  controlPlane: { namespace: weft-system, service: weft-control-plane, xdsPort: 15010, caPort: 15012 }
  certificateTtl: 2h
`;
}
