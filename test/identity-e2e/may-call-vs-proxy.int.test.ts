/**
 * The offline mayCall answer equals what a real running sidecar does: the same resources go
 * through buildModel + translate into a sidecar's static config, callers hold certificates from
 * weft's CA, and every row of the table is sent over real sockets (mTLS or plaintext).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildModel } from '../../api/build-model';
import { mayCall, MayCallQuery } from '../../api/may-call';
import { API_VERSION, WeftResource } from '../../api/resources';
import { translate } from '../../api/translate';
import type { Bootstrap } from '../../api/bootstrap';
import { CertificateAuthority } from '../../control-plane/ca/authority';
import { generateRoot } from '../../control-plane/ca/pki';
import { generateKeyAndCsr } from '../../proxy/identity/csr';
import { clientTlsOptions } from '../../proxy/identity/tls';
import type { IdentityMaterial } from '../../proxy/identity/types';
import { runProxy, RunningProxy } from '../../proxy/main';

const TD = 'shop.local';
const res = (kind: WeftResource<unknown>['kind'], name: string, spec: unknown, namespace?: string): WeftResource<unknown> =>
  ({ apiVersion: API_VERSION, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec }) as WeftResource<unknown>;
const svc = (name: string, ns: string, port: number, targetPort: number, calls: { name: string }[] = []) =>
  res('MeshService', name, { serviceAccount: name, ports: [{ name: 'http', port, targetPort, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }], interception: 'explicit', calls }, ns);

function mesh(defaultInboundPolicy: 'allow' | 'deny', appPort: number) {
  return [
    res('MeshConfig', 'mesh', {
      trustDomain: TD, defaultMtlsMode: 'PERMISSIVE', defaultInboundPolicy, proxyImage: 'weft/proxy:1', controlPlaneImage: 'weft/cp:1',
      controlPlane: { namespace: 'weft-system', service: 'weft', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
    }),
    svc('web', 'shop', 80, 80, [{ name: 'cart' }]),
    svc('cart', 'shop', 8080, appPort),
    svc('batch', 'ops', 80, 80),
    res('MtlsPolicy', 'cart-authz', {
      scope: { service: 'cart' },
      rules: [
        { name: 'no-admin', action: 'DENY', to: [{ paths: ['/admin/*'] }] },
        { name: 'batch-reads', action: 'ALLOW', from: [{ namespaces: ['ops'] }], to: [{ methods: ['GET'] }] },
        { name: 'health', action: 'ALLOW', to: [{ paths: ['/healthz'] }] },
        { name: 'audit-deletes', action: 'AUDIT', to: [{ methods: ['DELETE'] }] },
      ],
    }, 'shop'),
  ];
}

const web = { service: 'web', namespace: 'shop' };
const batch = { service: 'batch', namespace: 'ops' };
const cart = { service: 'cart', namespace: 'shop' };
const table: [string, MayCallQuery][] = [
  ['web GET /items', { from: web, to: cart, method: 'GET', path: '/items' }],
  ['web GET /admin/users', { from: web, to: cart, method: 'GET', path: '/admin/users' }],
  ['web POST /items', { from: web, to: cart, method: 'POST', path: '/items' }],
  ['batch GET /items', { from: batch, to: cart, method: 'GET', path: '/items' }],
  ['batch POST /items', { from: batch, to: cart, method: 'POST', path: '/items' }],
  ['batch DELETE /items/1', { from: batch, to: cart, method: 'DELETE', path: '/items/1' }],
  ['batch GET /admin/x', { from: batch, to: cart, method: 'GET', path: '/admin/x' }],
  ['plaintext GET /items', { from: 'unmeshed', to: cart, method: 'GET', path: '/items' }],
  ['plaintext GET /healthz', { from: 'unmeshed', to: cart, method: 'GET', path: '/healthz' }],
];

let app: http.Server;
let appPort: number;
let root: string;
let ca: CertificateAuthority;
const ids = new Map<string, IdentityMaterial>();
const proxies: RunningProxy[] = [];

async function identity(ns: string, sa: string): Promise<IdentityMaterial> {
  const { keyPem, csrPem } = await generateKeyAndCsr();
  const out = await ca.issue(csrPem, { namespace: ns, serviceAccount: sa });
  return { certChainPem: out.certChainPem, keyPem, trustBundlePem: out.trustBundlePem, spiffeId: out.spiffeId, notAfter: out.notAfter };
}

beforeAll(async () => {
  app = http.createServer((req, res) => res.end(`app ${req.method} ${req.url}`));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-maycall-'));
  const r = await generateRoot({ trustDomain: TD });
  ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: r.certPem, tlsKey: r.keyPem } });
  for (const [ns, sa] of [['shop', 'cart'], ['shop', 'web'], ['ops', 'batch']]) ids.set(sa, await identity(ns, sa));
  const dir = path.join(root, 'cart-id');
  fs.mkdirSync(dir);
  const m = ids.get('cart')!;
  fs.writeFileSync(path.join(dir, 'cert.pem'), m.certChainPem);
  fs.writeFileSync(path.join(dir, 'key.pem'), m.keyPem);
  fs.writeFileSync(path.join(dir, 'ca.pem'), m.trustBundlePem);
});

afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  app.closeAllConnections();
  await new Promise((r) => app.close(r));
  fs.rmSync(root, { recursive: true, force: true });
});

async function cartSidecar(resources: WeftResource<unknown>[]): Promise<RunningProxy> {
  const built = buildModel(resources, []);
  expect(built.statuses.filter((s) => !s.accepted)).toEqual([]);
  const xds = translate(built.model, { kind: 'sidecar', node: { service: 'cart', namespace: 'shop', version: 'v1' } });
  const b: Bootstrap = {
    node: { id: 'cart-1', service: 'cart', namespace: 'shop', version: 'v1', serviceAccount: 'cart' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: appPort } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    // not required: the sidecar serves PERMISSIVE (mTLS or plaintext), as the mesh default says
    identity: { trustDomain: TD, required: false, staticDir: path.join(root, 'cart-id') },
    staticResources: xds as unknown as Bootstrap['staticResources'],
    drainTimeout: '1s',
  };
  const p = await runProxy(b, { log: () => undefined });
  proxies.push(p);
  return p;
}

/** Sends one request to the sidecar's inbound port as `from` (mTLS with its certificate, or plaintext). */
function send(port: number, q: MayCallQuery): Promise<{ status: number; error?: string }> {
  const base = { host: '127.0.0.1', port, method: q.method, path: q.path, agent: false as const, headers: { host: 'cart.shop:8080' } };
  return new Promise((resolve, reject) => {
    const done = (r: http.IncomingMessage) => {
      r.resume();
      r.on('end', () => resolve({ status: r.statusCode!, error: r.headers['weft-error'] as string | undefined }));
    };
    if (q.from === 'unmeshed') {
      http.request(base, done).on('error', reject).end();
      return;
    }
    const me = ids.get(q.from.service)!;
    const tlsOpts = { ...clientTlsOptions(me, { identities: [ids.get('cart')!.spiffeId] }), ALPNProtocols: ['http/1.1'] } as https.RequestOptions;
    https.request({ ...tlsOpts, ...base }, done).on('error', reject).end();
  });
}

describe.each(['deny', 'allow'] as const)('mesh default %s', (mode) => {
  let proxy: RunningProxy;
  let resources: WeftResource<unknown>[];
  beforeAll(async () => {
    resources = mesh(mode, appPort);
    proxy = await cartSidecar(resources);
  });

  test.each(table)('%s: the sidecar does what mayCall says', async (_n, q) => {
    const d = mayCall(resources, q);
    const got = await send(proxy.ports.inbound, q);
    expect({ status: got.status, denied: got.status === 403 }).toEqual({ status: d.allowed ? 200 : 403, denied: !d.allowed });
    if (!d.allowed) expect(got.error).toContain(d.policy ? d.policy.split('#')[0] : 'denied');
  });

  test('the table exercises both verdicts and several reasons', () => {
    const reasons = new Set(table.map(([, q]) => mayCall(resources, q).reason));
    expect(reasons.has('denied_by_policy') && reasons.has('no_matching_allow') && reasons.has('allowed_by_policy')).toBe(true);
  });
});
