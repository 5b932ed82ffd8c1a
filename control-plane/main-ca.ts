/**
 * The CA beside the ADS server in the control-plane process (`--ca-port`): the trust domain and
 * certificate lifetime come from the mesh the source delivered; CA material and authentication
 * come from Kubernetes (Secret + TokenReview) or, locally, a state directory + one-time tokens.
 */
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { MeshSettings } from '../api/model';
import { BootstrapTokenAuthenticator, type Authenticator } from './ca/authn';
import { CertificateAuthority } from './ca/authority';
import { kubernetesCaApis, loadOrCreateSecretCa, TokenReviewAuthenticator } from './ca/kubernetes';
import { loadOrCreateLocalCa } from './ca/material';
import { CaServer, startCaServer } from './ca/service';

/** Options of startCa(). */
export interface CaWiringOptions {
  readonly source: 'kubernetes' | 'local';
  readonly port: number;
  readonly host: string;
  /** Trust domain and certificate TTL, from the MeshConfig (or the defaults when there is none). */
  readonly mesh: MeshSettings;
  /** Local: CA files live in `<stateDir>/ca` (created on first run). */
  readonly stateDir: string;
  /** Kubernetes: namespace and name of the CA Secret (created by the first replica when absent). */
  readonly secretNamespace: string;
  readonly secretName: string;
  readonly kubeconfig?: string;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** A running CA endpoint. */
export interface RunningCa {
  readonly server: CaServer;
  readonly ca: CertificateAuthority;
  /** Local mode: a BootstrapTokenAuthenticator whose `mint()` hands out one-time sidecar tokens. */
  readonly authenticator: Authenticator;
  close(): Promise<void>;
}

function kubeConfigFrom(path?: string): KubeConfig | undefined {
  if (!path) return undefined;
  const k8s = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** Loads or creates the CA material, then serves IssueCertificate on `port`. */
export async function startCa(opts: CaWiringOptions): Promise<RunningCa> {
  let material;
  let authenticator: Authenticator;
  if (opts.source === 'kubernetes') {
    const apis = kubernetesCaApis(kubeConfigFrom(opts.kubeconfig));
    ({ material } = await loadOrCreateSecretCa(apis.secrets, { namespace: opts.secretNamespace, name: opts.secretName, trustDomain: opts.mesh.trustDomain }));
    authenticator = new TokenReviewAuthenticator({ api: apis.tokenReview });
  } else {
    ({ material } = await loadOrCreateLocalCa(join(opts.stateDir, 'ca'), opts.mesh.trustDomain));
    authenticator = new BootstrapTokenAuthenticator({});
  }
  const ca = await CertificateAuthority.create({ trustDomain: opts.mesh.trustDomain, material, certificateTtlMs: opts.mesh.certificateTtlMs });
  const server = await startCaServer(ca, {
    authenticator,
    host: opts.host,
    port: opts.port,
    onRefused: (code, message) => opts.log('warn', `CA refused a request: ${message}`, { code }),
    onIssued: (id, notAfter) => opts.log('info', 'certificate issued', { spiffeId: id, notAfter: notAfter.toISOString() }),
  });
  opts.log('info', 'CA serving', { port: server.port, trustDomain: opts.mesh.trustDomain });
  return { server, ca, authenticator, close: () => server.close() };
}
