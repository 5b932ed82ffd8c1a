/**
 * The CA beside the ADS server in the control-plane process (`--ca-port`): the trust domain and
 * certificate lifetime come from the mesh the source delivered; CA material and authentication
 * come from Kubernetes (Secret + TokenReview) or, locally, a state directory + one-time tokens.
 * The endpoint is TLS (a certificate the CA issues itself) unless `insecure` is asked for.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import type { ServerCredentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { MeshSettings } from '../api/model';
import { spiffeId } from '../api/names';
import { BootstrapTokenAuthenticator, type Authenticator } from './ca/authn';
import { CertificateAuthority, type CaMaterial } from './ca/authority';
import { CA_ERRORS } from './ca/errors';
import { kubernetesCaApis, loadOrCreateSecretCa, TokenReviewAuthenticator } from './ca/kubernetes';
import { caMaterialFromSecret, loadCaFromDirectory, loadOrCreateLocalCa, watchCaMaterial, type CaMaterialWatch } from './ca/material';
import { CaServer, caServerCredentials, startCaServer } from './ca/service';
import { CA_ROOT_CONFIGMAP, CaRootPublisher, type ConfigMapApi } from './sources/ca-root-configmap';

/** ServiceAccount (and Service) name of the control plane: the CA endpoint's SPIFFE identity. */
export const CONTROL_PLANE_SERVICE_ACCOUNT = 'weft-control-plane';
/** File under the local state directory holding the trust bundle the sidecars verify the CA with. */
export const LOCAL_TRUST_ANCHOR_FILE = 'ca-root.pem';

/** Options of startCa(). */
export interface CaWiringOptions {
  readonly source: 'kubernetes' | 'local';
  readonly port: number;
  readonly host: string;
  /** Trust domain and certificate TTL, from the MeshConfig (or the defaults when there is none). */
  readonly mesh: MeshSettings;
  /** Local: CA files live in `<stateDir>/ca` (created on first run); the bundle is written to `<stateDir>/ca-root.pem`. */
  readonly stateDir: string;
  /** Kubernetes: namespace and name of the CA Secret (created by the first replica when absent). */
  readonly secretNamespace: string;
  readonly secretName: string;
  readonly kubeconfig?: string;
  /** Kubernetes: the client-node module and a ready KubeConfig, instead of loading them (tests). @default require('@kubernetes/client-node'), `kubeconfig` */
  readonly kube?: { readonly client: typeof import('@kubernetes/client-node'); readonly config: KubeConfig };
  /** Serve the CA without TLS (testing only: the bootstrap credential then travels in the clear). @default false */
  readonly insecure?: boolean;
  /**
   * DNS names of the serving certificate. @default kubernetes: the control plane's Service names in
   * `secretNamespace` (`weft-control-plane`, `.ns`, `.ns.svc`, `.ns.svc.cluster.local`); local: `localhost`
   */
  readonly dnsNames?: readonly string[];
  /** IP addresses of the serving certificate. @default local: `host` (127.0.0.1 and ::1 for a wildcard host); kubernetes: none */
  readonly ipAddresses?: readonly string[];
  /** Kubernetes: the namespaces that get the `weft-ca-root` ConfigMap (where sidecars run). @default none */
  readonly meshedNamespaces?: () => Iterable<string>;
  /** Kubernetes: time between passes of the `weft-ca-root` publisher. @default 30000 */
  readonly rootPublishMs?: number;
  /** How often the CA material is re-read (cert-manager renews the Secret in place). @default 60000 */
  readonly materialWatchMs?: number;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** A running CA endpoint. */
export interface RunningCa {
  readonly server: CaServer;
  readonly ca: CertificateAuthority;
  /** Local mode: a BootstrapTokenAuthenticator whose `mint()` hands out one-time sidecar tokens. */
  readonly authenticator: Authenticator;
  /** Whether the endpoint is TLS. */
  readonly tls: boolean;
  /** Kubernetes: the `weft-ca-root` publisher (`sync()` runs a pass). */
  readonly rootPublisher?: CaRootPublisher;
  /** Local mode: the file holding the trust bundle (rewritten on every rotation) for the sidecars' bootstrap. */
  readonly trustAnchorFile?: string;
  /** The endpoint's TLS credentials (self-issued certificate, re-issued on rotation); the ADS TLS port serves the same. Undefined when insecure. */
  readonly credentials?: ServerCredentials;
  /** The names the serving certificate carries. */
  readonly servingNames: { dnsNames: string[]; ipAddresses: string[]; spiffeId: string };
  /**
   * Writes a serving certificate for `names` (default: the CA endpoint's) into `dir` as tls.crt,
   * tls.key (0600) and ca.crt, and again on every signer or bundle change, for a control plane in
   * another process (`weft up`'s child: `--xds-tls-dir`). Returns a function that stops rewriting.
   */
  writeServingCertificate(dir: string, names?: { dnsNames?: readonly string[]; ipAddresses?: readonly string[]; spiffeId?: string }): () => void;
  close(): Promise<void>;
}

function kubeConfigFrom(path?: string): KubeConfig | undefined {
  if (!path) return undefined;
  const k8s = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** The serving names of the CA endpoint for `opts`. */
export function caServingNames(opts: Pick<CaWiringOptions, 'source' | 'host' | 'secretNamespace' | 'dnsNames' | 'ipAddresses' | 'mesh'>): { dnsNames: string[]; ipAddresses: string[]; spiffeId: string } {
  const ns = opts.secretNamespace;
  const svc = CONTROL_PLANE_SERVICE_ACCOUNT;
  const wildcard = opts.host === '0.0.0.0' || opts.host === '::' || opts.host === '';
  return {
    spiffeId: spiffeId(opts.mesh.trustDomain, ns, svc),
    dnsNames: [...(opts.dnsNames ?? (opts.source === 'kubernetes' ? [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`] : ['localhost']))],
    ipAddresses: [...(opts.ipAddresses ?? (opts.source === 'kubernetes' ? [] : wildcard ? ['127.0.0.1', '::1'] : [opts.host]))],
  };
}

/** Writes `pem` to `file` (0644: sidecars of other users may read a public root) through a temp file and rename. */
function writeTrustAnchor(file: string, pem: string, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, pem, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** Issues a serving certificate for `names` and writes it to `dir` (key first, so a reader never pairs a new cert with an old key for long). */
function writeServingFiles(ca: CertificateAuthority, dir: string, names: { dnsNames?: readonly string[]; ipAddresses?: readonly string[]; spiffeId?: string }): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const c = ca.issueServingCertificate(names);
  writeTrustAnchor(join(dir, 'ca.crt'), c.trustBundlePem);
  writeTrustAnchor(join(dir, 'tls.key'), c.keyPem, 0o600);
  writeTrustAnchor(join(dir, 'tls.crt'), c.certChainPem);
}

/** Loads or creates the CA material, then serves IssueCertificate on `port` (TLS unless `insecure`). */
export async function startCa(opts: CaWiringOptions): Promise<RunningCa> {
  let material: CaMaterial;
  let authenticator: Authenticator;
  let reload: () => Promise<CaMaterial>;
  let configMaps: ConfigMapApi | undefined;
  if (opts.source === 'kubernetes') {
    const apis = opts.kube ? kubernetesCaApis(opts.kube.config, opts.kube.client) : kubernetesCaApis(kubeConfigFrom(opts.kubeconfig));
    configMaps = apis.configMaps;
    const where = { namespace: opts.secretNamespace, name: opts.secretName };
    ({ material } = await loadOrCreateSecretCa(apis.secrets, { ...where, trustDomain: opts.mesh.trustDomain }));
    authenticator = new TokenReviewAuthenticator({ api: apis.tokenReview });
    reload = async () => caMaterialFromSecret(await apis.secrets.readNamespacedSecret(where));
  } else {
    const dir = join(opts.stateDir, 'ca');
    ({ material } = await loadOrCreateLocalCa(dir, opts.mesh.trustDomain));
    authenticator = new BootstrapTokenAuthenticator({});
    reload = async () => loadCaFromDirectory(dir);
  }
  const ca = await CertificateAuthority.create({
    trustDomain: opts.mesh.trustDomain, material, certificateTtlMs: opts.mesh.certificateTtlMs,
    onListenerError: (e) => opts.log('error', `after a CA trust change: ${(e as Error)?.message ?? e}`, { code: (e as { code?: string })?.code }),
  });
  const tls = !opts.insecure;
  const names = caServingNames(opts);
  const credentials = tls ? caServerCredentials(ca, names) : undefined;
  const server = await startCaServer(ca, {
    authenticator,
    host: opts.host,
    port: opts.port,
    ...(credentials ? { credentials } : {}),
    // Locally the one-time token buys the first certificate; renewals present that certificate.
    // In Kubernetes renewals keep presenting the projected token (TokenReview sees a deleted ServiceAccount).
    certificateAuthentication: tls && opts.source === 'local',
    onRefused: (code, message) => opts.log('warn', `CA refused a request: ${message}`, { code }),
    onIssued: (id, notAfter) => opts.log('info', 'certificate issued', { spiffeId: id, notAfter: notAfter.toISOString() }),
  });
  let trustAnchorFile: string | undefined;
  if (opts.source === 'local') {
    const file = join(opts.stateDir, LOCAL_TRUST_ANCHOR_FILE);
    writeTrustAnchor(file, ca.trustBundlePem());
    // The CA has switched already: a failed write is logged (sidecars keep the old bundle until the next change), never thrown.
    ca.onTrustChange(() => {
      try {
        writeTrustAnchor(file, ca.trustBundlePem());
      } catch (e) {
        opts.log('error', `cannot write the trust bundle to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { code: CA_ERRORS.TRUST_ANCHOR_WRITE });
      }
    });
    trustAnchorFile = file;
  }
  let publisher: CaRootPublisher | undefined;
  if (configMaps && opts.meshedNamespaces) {
    publisher = new CaRootPublisher({
      api: configMaps, namespaces: opts.meshedNamespaces, bundle: () => ca.trustBundlePem(), intervalMs: opts.rootPublishMs,
      onError: (e) => opts.log('warn', e.message, { code: e.code }),
      onWrite: (namespace, action) => opts.log('info', `ConfigMap ${namespace}/${CA_ROOT_CONFIGMAP.name} ${action}`),
    });
    void publisher.start();
    ca.onTrustChange(() => void publisher!.sync());
  }
  // cert-manager renews the Secret (or files) in place: switch the signer, keep the old root trusted.
  let current = material;
  const watch: CaMaterialWatch = watchCaMaterial(reload, async (m) => {
    const sameSigner = m.tlsCrt === current.tlsCrt && m.tlsKey === current.tlsKey;
    if (sameSigner) {
      // Only ca.crt changed (rotation step 1 or 3): trust exactly the roots it lists now; the signer is not rotated.
      await ca.updateRoots(m);
      opts.log('info', 'CA roots changed (ca.crt): trust bundle updated');
    } else {
      await ca.rotateSigner(m);
      opts.log('info', 'CA material changed: signing with the new certificate, previous root still trusted');
    }
    current = m;
  }, {
    initial: material,
    intervalMs: opts.materialWatchMs,
    onError: (e) => opts.log('error', `CA material reload failed; keeping the current signer: ${(e as Error).message ?? e}`, { code: (e as { code?: string }).code }),
  });
  opts.log('info', 'CA serving', { port: server.port, trustDomain: opts.mesh.trustDomain, tls, ...(tls ? { names } : {}) });
  if (!tls) opts.log('warn', 'CA served WITHOUT TLS (--ca-insecure): bootstrap credentials travel in the clear; for tests only', { code: 'WEFT_ERR_CA_INSECURE' });
  const servingWriters = new Set<() => void>();
  return {
    server, ca, authenticator, tls, trustAnchorFile, rootPublisher: publisher, credentials, servingNames: names,
    writeServingCertificate(dir, n = names) {
      writeServingFiles(ca, dir, n);
      const off = ca.onTrustChange(() => {
        try { writeServingFiles(ca, dir, n); } catch (e) { opts.log('error', `cannot rewrite the xDS serving certificate in ${dir}: ${(e as Error).message}`); }
      });
      servingWriters.add(off);
      return () => { off(); servingWriters.delete(off); };
    },
    close: async () => {
      for (const off of servingWriters) off();
      watch.close();
      publisher?.stop();
      await server.close();
    },
  };
}
