/** Bootstraps and static resources for two real sidecars (web → backend) with file-based test PKI. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bootstrap } from '../../../api/bootstrap';
import { FILTER } from '../../../api/xds/util';
import { TYPES } from '../../../api/xds/protos';
import { outboundHttpListener } from '../../../api/xds/listeners';
import { makeCa, makeLeaf, type TestCa } from '../../support/certs';

export const TRUST_DOMAIN = 'weft.test';
export const idOf = (sa: string): string => `spiffe://${TRUST_DOMAIN}/ns/default/sa/${sa}`;

/** Writes cert.pem/key.pem/ca.pem for `sa` into a fresh temp dir. */
export async function identityDir(ca: TestCa, sa: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `weft-id-${sa}-`));
  const leaf = await makeLeaf(ca, idOf(sa));
  fs.writeFileSync(path.join(dir, 'cert.pem'), leaf.certPem);
  fs.writeFileSync(path.join(dir, 'key.pem'), leaf.keyPem);
  fs.writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
  return dir;
}

export { makeCa };

const router = { name: FILTER.ROUTER, typed_config: { '@type': TYPES.ROUTER } };

/** The backend sidecar: inbound listener → STATIC cluster of the local app. */
export function serverBootstrap(appPort: number, staticDir: string, extra: Partial<Bootstrap> = {}, authz?: unknown): Bootstrap {
  const cluster = 'inbound|http';
  return {
    node: { id: 'backend-1', service: 'backend', namespace: 'default', version: 'v1', serviceAccount: 'backend' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: appPort } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: TRUST_DOMAIN, required: true, staticDir },
    staticResources: {
      listeners: [{
        name: 'inbound',
        address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
        filter_chains: [{
          name: cluster,
          filters: [{
            name: FILTER.HCM,
            typed_config: {
              '@type': TYPES.HCM, stat_prefix: cluster,
              route_config: { name: cluster, virtual_hosts: [{ name: cluster, domains: ['*'], routes: [{ name: cluster, match: { prefix: '' }, route: { cluster } }] }] },
              http_filters: [router],
            },
          }],
        }],
        metadata: { filter_metadata: { weft: { direction: 'inbound', ...(authz ? { authz } : {}) } } },
      }],
      clusters: [{
        name: cluster, type: 'STATIC', lb_policy: 'ROUND_ROBIN',
        load_assignment: { cluster_name: cluster, endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }] },
      }],
    },
    drainTimeout: '2s',
    ...extra,
  };
}

/** The web sidecar: outbound listener, route `backend` → STATIC cluster at the backend sidecar's inbound port over mTLS. */
export function clientBootstrap(backendInboundPort: number, staticDir: string): Bootstrap {
  return {
    node: { id: 'web-1', service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: TRUST_DOMAIN, required: true, staticDir },
    staticResources: {
      listeners: [outboundHttpListener() as Record<string, unknown>],
      routes: [{ name: 'outbound', virtual_hosts: [{ name: 'backend', domains: ['backend', 'backend:80', 'backend.default'], routes: [{ name: 'backend/default', match: { prefix: '/' }, route: { cluster: 'backend-v1' } }] }] }],
      clusters: [{
        name: 'backend-v1', type: 'STATIC', lb_policy: 'ROUND_ROBIN',
        metadata: { filter_metadata: { weft: { identity: idOf('backend') } } },
        load_assignment: { cluster_name: 'backend-v1', endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: backendInboundPort } } } }] }] },
      }],
    },
    drainTimeout: '2s',
  };
}
