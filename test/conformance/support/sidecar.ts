/** Sidecar scenario helpers: HTTP backends that answer with their version, a client through the outbound port, the bootstrap. */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { Bootstrap } from '../../../api/bootstrap';
import { makeCa, makeLeaf } from '../../support/certs';

export interface Backend { version: string; port: number; server: http.Server }

export async function httpBackend(version: string): Promise<Backend> {
  const server = http.createServer((_req, res) => res.end(version));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { version, port: (server.address() as { port: number }).port, server };
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });

export function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'echo.default' }, agent, timeout: 30_000 }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
  });
}

export async function run(port: number, n: number, concurrency = 20): Promise<{ counts: Record<string, number>; errors: number; samples: string[] }> {
  const counts: Record<string, number> = {};
  const samples: string[] = [];
  let errors = 0;
  let started = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < n) {
      started++;
      const r = await get(port);
      if (r.status === 200) counts[r.body] = (counts[r.body] ?? 0) + 1;
      else { errors++; if (samples.length < 3) samples.push(`${r.status} ${r.body}`); }
    }
  }));
  return { counts, errors, samples };
}

/** Bootstrap of the `web` sidecar (node id web-conformance) pointed at the ADS server on `xdsPort`, with a file identity under `root`. */
export async function sidecarBootstrap(root: string, xdsPort: number): Promise<Bootstrap> {
  const ca = await makeCa();
  const leaf = await makeLeaf(ca, 'spiffe://cluster.local/ns/default/sa/web');
  const idDir = path.join(root, 'id');
  fs.mkdirSync(idDir, { recursive: true });
  fs.writeFileSync(path.join(idDir, 'cert.pem'), leaf.certPem);
  fs.writeFileSync(path.join(idDir, 'key.pem'), leaf.keyPem);
  fs.writeFileSync(path.join(idDir, 'ca.pem'), ca.certPem);
  return {
    node: { id: 'web-conformance', service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
    controlPlane: { xds: `127.0.0.1:${xdsPort}` },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: 'cluster.local', required: false, staticDir: idDir },
    drainTimeout: '1s',
  };
}
