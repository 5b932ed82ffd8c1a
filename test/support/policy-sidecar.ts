/**
 * A real sidecar (`runProxy`) in front of an echo app, configured from weft resources through
 * buildModel + translate, with certificates from weft's own CA: for path, authz and identity-header
 * tests that must go through the whole inbound path over real sockets.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildModel } from '../../api/build-model';
import { API_VERSION, type WeftResource } from '../../api/resources';
import { translate } from '../../api/translate';
import type { Bootstrap } from '../../api/bootstrap';
import type { PolicyModel } from '../../api/model';
import { CertificateAuthority } from '../../control-plane/ca/authority';
import { generateRoot } from '../../control-plane/ca/pki';
import { generateKeyAndCsr } from '../../proxy/identity/csr';
import type { IdentityMaterial } from '../../proxy/identity/types';
import { runProxy, type RunningProxy } from '../../proxy/main';

export const TD = 'shop.local';

const res = (kind: WeftResource<unknown>['kind'], name: string, spec: unknown, namespace?: string): WeftResource<unknown> =>
  ({ apiVersion: API_VERSION, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec }) as WeftResource<unknown>;

/** The mesh of these tests: `cart.shop` (port 8080 → `appPort`) with an MtlsPolicy of `rules` when given. */
export function cartResources(appPort: number, rules: unknown[]): WeftResource<unknown>[] {
  return [
    res('MeshConfig', 'mesh', {
      trustDomain: TD, defaultMtlsMode: 'PERMISSIVE', defaultInboundPolicy: 'allow', proxyImage: 'weft/proxy:1', controlPlaneImage: 'weft/cp:1',
      controlPlane: { namespace: 'weft-system', service: 'weft', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
    }),
    res('MeshService', 'cart', { serviceAccount: 'cart', ports: [{ name: 'http', port: 8080, targetPort: appPort, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }], interception: 'explicit' }, 'shop'),
    ...(rules.length ? [res('MtlsPolicy', 'cart-authz', { scope: { service: 'cart' }, rules }, 'shop')] : []),
  ];
}

/** The policies the sidecar evaluates for `rules` (buildModel's, as `api/may-call.ts` uses them). */
export function cartPolicies(rules: unknown[]): PolicyModel[] {
  return [...buildModel(cartResources(1, rules), []).model.policies];
}

/** What the echo app saw of one request. */
export interface Seen {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** An echo app, a CA and identities; `sidecar()` starts a `cart.shop` sidecar with given policy rules. */
export class PolicySidecarHarness {
  readonly seen: Seen[] = [];
  app!: http.Server;
  appPort = 0;
  ca!: CertificateAuthority;
  readonly ids = new Map<string, IdentityMaterial>();
  #root = '';
  readonly #proxies: RunningProxy[] = [];

  /** Starts the app and the CA and issues identities for cart (the callee), web and batch. */
  async start(): Promise<void> {
    this.app = http.createServer((req, res) => {
      this.seen.push({ url: req.url ?? '', headers: req.headers });
      req.resume();
      res.end(req.url);
    });
    await new Promise<void>((r) => this.app.listen(0, '127.0.0.1', r));
    this.appPort = (this.app.address() as AddressInfo).port;
    this.#root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-policy-sidecar-'));
    const r = await generateRoot({ trustDomain: TD });
    this.ca = await CertificateAuthority.create({ trustDomain: TD, material: { tlsCrt: r.certPem, tlsKey: r.keyPem } });
    for (const [ns, sa] of [['shop', 'cart'], ['shop', 'web'], ['ops', 'batch']]) this.ids.set(sa, await this.#identity(ns, sa));
    const dir = path.join(this.#root, 'cart-id');
    fs.mkdirSync(dir);
    const m = this.ids.get('cart')!;
    fs.writeFileSync(path.join(dir, 'cert.pem'), m.certChainPem);
    fs.writeFileSync(path.join(dir, 'key.pem'), m.keyPem);
    fs.writeFileSync(path.join(dir, 'ca.pem'), m.trustBundlePem);
  }

  async #identity(ns: string, sa: string): Promise<IdentityMaterial> {
    const { keyPem, csrPem } = await generateKeyAndCsr();
    const out = await this.ca.issue(csrPem, { namespace: ns, serviceAccount: sa });
    return { certChainPem: out.certChainPem, keyPem, trustBundlePem: out.trustBundlePem, spiffeId: out.spiffeId, notAfter: out.notAfter };
  }

  /**
   * Starts a `cart.shop` sidecar (PERMISSIVE: mTLS or plaintext) whose MtlsPolicy has `rules`;
   * `http` is the bootstrap's listener options.
   */
  async sidecar(rules: unknown[], http?: Bootstrap['http']): Promise<RunningProxy> {
    const resources = cartResources(this.appPort, rules);
    const built = buildModel(resources, []);
    const rejected = built.statuses.filter((s) => !s.accepted);
    if (rejected.length) throw new Error(`test resources rejected: ${JSON.stringify(rejected)}`);
    const xds = translate(built.model, { kind: 'sidecar', node: { service: 'cart', namespace: 'shop', version: 'v1' } });
    const b: Bootstrap = {
      node: { id: `cart-${this.#proxies.length}`, service: 'cart', namespace: 'shop', version: 'v1', serviceAccount: 'cart' },
      ports: { inbound: 0, outbound: 0, admin: 0, app: { http: this.appPort } },
      bindAddress: '127.0.0.1',
      interception: 'explicit',
      identity: { trustDomain: TD, required: false, staticDir: path.join(this.#root, 'cart-id') },
      staticResources: xds as unknown as Bootstrap['staticResources'],
      drainTimeout: '1s',
      ...(http ? { http } : {}),
    };
    const p = await runProxy(b, { log: () => undefined });
    this.#proxies.push(p);
    return p;
  }

  /** Stops every sidecar, the app, and removes the temp directory. */
  async stop(): Promise<void> {
    for (const p of this.#proxies) await p.shutdown();
    this.app?.closeAllConnections();
    if (this.app) await new Promise((r) => this.app.close(r));
    if (this.#root) fs.rmSync(this.#root, { recursive: true, force: true });
  }
}
