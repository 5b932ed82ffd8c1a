/**
 * Inbound opaque TCP is authorized per connection, and the offline mayCall answer equals what the
 * running sidecar does: MeshService/MtlsPolicy resources → buildModel → translate → a real sidecar
 * (STRICT mTLS, two tcp ports); callers dial it over real mTLS with their certificates and the SNI
 * their own sidecar would send (dialTcp, the code the caller's sidecar runs).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { buildModel } from '../../../api/build-model';
import { mayCall, type MayCallQuery } from '../../../api/may-call';
import type { MeshModel, PolicyModel } from '../../../api/model';
import { API_VERSION, type WeftResource } from '../../../api/resources';
import { translate } from '../../../api/translate';
import type { Bootstrap } from '../../../api/bootstrap';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import { tcpServerName } from '../../../proxy/listeners/inbound-tcp';
import { dialTcp } from '../../../proxy/transport/tcp';
import { makeCa, makeLeaf, type TestCa } from '../../support/certs';
import { closeServer, listen } from '../http/util';

const TD = 'weft.test';
const spiffe = (ns: string, sa: string) => `spiffe://${TD}/ns/${ns}/sa/${sa}`;
const res = (kind: WeftResource<unknown>['kind'], name: string, spec: unknown, namespace?: string): WeftResource<unknown> =>
  ({ apiVersion: API_VERSION, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec }) as WeftResource<unknown>;
const svc = (name: string, ns: string, ports: { name: string; port: number; protocol: string }[], calls: { name: string; namespace?: string }[] = []) =>
  res('MeshService', name, { serviceAccount: name, ports: ports.map((p) => ({ ...p, targetPort: p.port })), versions: [{ name: 'v1', replicas: 1 }], interception: 'explicit', calls }, ns);

type Rule = { name: string; action: string; from?: unknown[]; to?: unknown[] };
function mesh(defaultInboundPolicy: 'allow' | 'deny', rules: Rule[]): WeftResource<unknown>[] {
  return [
    res('MeshConfig', 'mesh', {
      trustDomain: TD, defaultMtlsMode: 'STRICT', defaultInboundPolicy, proxyImage: 'weft/proxy:1', controlPlaneImage: 'weft/cp:1',
      controlPlane: { namespace: 'weft-system', service: 'weft', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
    }),
    svc('web', 'shop', [{ name: 'http', port: 80, protocol: 'http' }], [{ name: 'db' }]),
    svc('batch', 'ops', [{ name: 'http', port: 80, protocol: 'http' }]),
    svc('db', 'shop', [{ name: 'pg', port: 5432, protocol: 'tcp' }, { name: 'redis', port: 6379, protocol: 'tcp' }]),
    ...(rules.length ? [res('MtlsPolicy', 'db-authz', { scope: { service: 'db' }, rules }, 'shop')] : []),
  ];
}

/** A rule buildModel would refuse (two `*`), put into the model as a newer control plane might send it. */
function withBrokenRule(model: MeshModel): MeshModel {
  const policies: PolicyModel[] = model.policies.map((p) => p.service !== 'db' ? p : {
    ...p, rules: [...p.rules, { id: 'shop/db-authz#broken', action: 'DENY', from: [{ principals: ['spiffe://weft.test/*/x/*'], namespaces: [] }], to: [] } as unknown as PolicyModel['rules'][number]],
  });
  return { ...model, policies };
}

const web = { service: 'web', namespace: 'shop' };
const batch = { service: 'batch', namespace: 'ops' };
const db = (port: number): MayCallQuery['to'] => ({ service: 'db', namespace: 'shop', port });
type Row = [string, MayCallQuery];
const rows: Row[] = [
  ['web → pg', { from: web, to: db(5432) }],
  ['web → redis', { from: web, to: db(6379) }],
  ['batch → pg', { from: batch, to: db(5432) }],
  ['batch → redis', { from: batch, to: db(6379) }],
];

interface Scenario {
  readonly name: string;
  readonly mode: 'allow' | 'deny';
  readonly rules: Rule[];
  readonly broken?: boolean;
  /** What each row must come to (guards against a table where mayCall and proxy agree by both being wrong). */
  readonly expected: Record<string, string>;
}
const scenarios: Scenario[] = [
  {
    name: 'ALLOW by principal', mode: 'allow',
    rules: [{ name: 'web-only', action: 'ALLOW', from: [{ principals: [spiffe('shop', 'web')] }] }],
    expected: { 'web → pg': 'allowed_by_policy', 'web → redis': 'allowed_by_policy', 'batch → pg': 'no_matching_allow', 'batch → redis': 'no_matching_allow' },
  },
  {
    name: 'DENY beats ALLOW', mode: 'allow',
    rules: [
      { name: 'both', action: 'ALLOW', from: [{ namespaces: ['shop', 'ops'] }] },
      { name: 'no-ops-pg', action: 'DENY', from: [{ namespaces: ['ops'] }], to: [{ ports: [5432] }] },
    ],
    expected: { 'web → pg': 'allowed_by_policy', 'web → redis': 'allowed_by_policy', 'batch → pg': 'denied_by_policy', 'batch → redis': 'allowed_by_policy' },
  },
  {
    name: 'an ALLOW with HTTP-only fields does not allow TCP', mode: 'allow',
    rules: [
      { name: 'web-gets', action: 'ALLOW', from: [{ principals: [spiffe('shop', 'web')] }], to: [{ methods: ['GET'], ports: [5432] }] },
      { name: 'batch-redis', action: 'ALLOW', from: [{ namespaces: ['ops'] }], to: [{ ports: [6379] }] },
    ],
    expected: { 'web → pg': 'no_matching_allow', 'web → redis': 'no_matching_allow', 'batch → pg': 'no_matching_allow', 'batch → redis': 'allowed_by_policy' },
  },
  {
    name: 'a DENY with HTTP-only fields drops them and denies by its ports', mode: 'allow',
    rules: [{ name: 'no-admin', action: 'DENY', to: [{ paths: ['/admin/*'], ports: [5432] }] }],
    expected: { 'web → pg': 'denied_by_policy', 'web → redis': 'default_allow', 'batch → pg': 'denied_by_policy', 'batch → redis': 'default_allow' },
  },
  {
    name: 'deny mesh: declared calls allow, the rest is denied', mode: 'deny', rules: [],
    expected: { 'web → pg': 'allowed_by_policy', 'web → redis': 'allowed_by_policy', 'batch → pg': 'no_matching_allow', 'batch → redis': 'no_matching_allow' },
  },
  {
    name: 'an unevaluable rule fails closed', mode: 'allow', broken: true,
    rules: [{ name: 'all', action: 'ALLOW', from: [{ namespaces: ['shop', 'ops'] }] }],
    expected: { 'web → pg': 'rule_error', 'web → redis': 'rule_error', 'batch → pg': 'rule_error', 'batch → redis': 'rule_error' },
  },
];

let ca: TestCa;
let root: string;
const contexts = new Map<string, tls.SecureContext>();
const apps: net.Server[] = [];
const appSockets = new Set<net.Socket>();
const accepted = { pg: 0, redis: 0 };
const appPorts: Record<string, number> = {};

async function echoApp(name: 'pg' | 'redis'): Promise<number> {
  const s = net.createServer((c) => {
    accepted[name]++;
    appSockets.add(c);
    c.on('close', () => appSockets.delete(c));
    c.on('data', (d) => c.write(`${name}:${d}`));
  });
  apps.push(s);
  return listen(s);
}

beforeAll(async () => {
  ca = await makeCa();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-tcp-authz-'));
  for (const [ns, sa] of [['shop', 'web'], ['ops', 'batch'], ['shop', 'db']]) {
    const leaf = await makeLeaf(ca, spiffe(ns, sa));
    contexts.set(sa, tls.createSecureContext({ cert: leaf.certPem, key: leaf.keyPem, ca: ca.certPem }));
    if (sa === 'db') {
      fs.writeFileSync(path.join(root, 'cert.pem'), leaf.certPem);
      fs.writeFileSync(path.join(root, 'key.pem'), leaf.keyPem);
      fs.writeFileSync(path.join(root, 'ca.pem'), ca.certPem);
    }
  }
  appPorts.pg = await echoApp('pg');
  appPorts.redis = await echoApp('redis');
});

afterAll(async () => {
  for (const s of appSockets) s.destroy();
  await Promise.all(apps.map(closeServer));
  fs.rmSync(root, { recursive: true, force: true });
});

/** Connects as `sa` to service port `port` through the db sidecar, sends `text`, returns what came back before close. */
async function call(inbound: number, sa: string, port: number, text: string): Promise<string> {
  const s = await dialTcp({ address: '127.0.0.1', port: inbound, tls: { context: () => contexts.get(sa), expectedIdentity: spiffe('shop', 'db'), serverName: tcpServerName(port) } });
  return new Promise((resolve) => {
    let out = '';
    s.on('data', (d) => {
      out += d;
      if (out.includes(text)) s.end();
    });
    s.on('error', () => undefined); // a denied connection may be reset under our write
    s.on('close', () => resolve(out));
    s.write(text);
  });
}

describe.each(scenarios)('$name', (sc) => {
  let proxy: RunningProxy;
  let model: MeshModel;
  const logs: string[] = [];
  beforeAll(async () => {
    const built = buildModel(mesh(sc.mode, sc.rules), []);
    expect(built.statuses.filter((s) => !s.accepted)).toEqual([]);
    model = sc.broken ? withBrokenRule(built.model) : built.model;
    const xds = translate(model, { kind: 'sidecar', node: { service: 'db', namespace: 'shop', version: 'v1' } });
    const b: Bootstrap = {
      node: { id: 'db-1', service: 'db', namespace: 'shop', version: 'v1', serviceAccount: 'db' },
      ports: { inbound: 0, outbound: 0, admin: 0, app: { pg: appPorts.pg, redis: appPorts.redis } },
      bindAddress: '127.0.0.1', interception: 'explicit',
      identity: { trustDomain: TD, required: true, staticDir: root },
      staticResources: xds as unknown as Bootstrap['staticResources'],
      drainTimeout: '1s',
    };
    proxy = await runProxy(b, { log: (_level, msg) => logs.push(msg) });
  });
  afterAll(() => proxy.shutdown());

  test.each(rows)('%s: the sidecar does what mayCall says', async (name, q) => {
    const d = mayCall(model, q);
    expect(d.protocol).toBe('tcp');
    expect(d.reason).toBe(sc.expected[name]);
    const port = q.to.port as number;
    const app = port === 5432 ? 'pg' : 'redis';
    const before = accepted[app];
    const got = await call(proxy.ports.inbound, (q.from as { service: string }).service, port, 'hello');
    if (d.allowed) {
      expect(got).toBe(`${app}:hello`);
      expect(accepted[app]).toBe(before + 1);
    } else {
      expect(got).toBe('');
      expect(accepted[app]).toBe(before); // the app never saw the denied connection
      expect(logs.some((l) => l.includes('inbound TCP connection denied') && l.includes(d.reason) && (!d.policy || l.includes(d.policy)))).toBe(true);
    }
  });

  test('each denial is counted as an HTTP denial is, labelled tcp', async () => {
    const denied = rows.filter(([, q]) => !mayCall(model, q).allowed).length;
    const metric = await proxy.registry.getSingleMetric('weft_proxy_requests_total')!.get();
    const tcp = metric.values.filter((v) => v.labels.route === 'tcp' && v.labels.error === 'denied' && v.labels.direction === 'inbound');
    expect(tcp.reduce((n, v) => n + v.value, 0)).toBe(denied);
  });
});
