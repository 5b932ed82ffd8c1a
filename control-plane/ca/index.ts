/**
 * The control plane's identity service in one place: pick where the CA comes from, build the
 * CertificateAuthority and the matching authenticator, then `addCaService` on a gRPC server.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Authenticator, BootstrapTokenAuthenticator } from './authn';
import { CertificateAuthority } from './authority';
import { TokenReviewAuthenticator, kubernetesCaApis, loadOrCreateSecretCa } from './kubernetes';
import { loadCaFromDirectory, loadOrCreateLocalCa } from './material';

export * from './authn';
export * from './authority';
export * from './errors';
export * from './kubernetes';
export * from './material';
export { addCaService, caServerCredentials, startCaServer, caServiceDefinition, grpcStatusOf, CA_PROTO_PATH, CA_SERVICE_NAME } from './service';
export type { CaServiceOptions, CaServerOptions, CaServer } from './service';

/** Where the CA's own certificate and key come from. */
export type CaSource =
  /** A cert-manager Secret mounted as a directory (tls.crt, tls.key, ca.crt): bring your own CA. */
  | { readonly kind: 'directory'; readonly dir: string }
  /** `weft up`: generated once into `<dir>` (0700, files 0600) and reused. */
  | { readonly kind: 'local'; readonly dir: string }
  /** Kubernetes: the Secret `namespace/name`, created with a generated root when absent. */
  | { readonly kind: 'kubernetes-secret'; readonly namespace: string; readonly name: string; readonly kubeConfig?: KubeConfig };

/** Options of `setupCa`. */
export interface CaSetupOptions {
  readonly trustDomain: string;
  readonly source: CaSource;
  /** Workload certificate lifetime (MeshSettings.certificateTtlMs). @default 24 h */
  readonly certificateTtlMs?: number;
  /** Further roots to trust (PEM), e.g. the previous root during a rotation. @default none */
  readonly extraTrustedRootsPem?: string;
}

/** A ready CA, how it authenticates workloads, and whether its root was just generated. */
export interface CaSetup {
  readonly ca: CertificateAuthority;
  /** TokenReview for Kubernetes sources, one-time bootstrap tokens otherwise (mint them for `weft up`). */
  readonly authenticator: Authenticator;
  /** Present for local/directory sources: mints the one-time token each sidecar gets. */
  readonly bootstrapTokens?: BootstrapTokenAuthenticator;
  readonly created: boolean;
}

/** Builds the CA from its source. The key is read into memory only; nothing is logged. */
export async function setupCa(o: CaSetupOptions): Promise<CaSetup> {
  const src = o.source;
  let material;
  let created = false;
  let authenticator: Authenticator;
  let bootstrapTokens: BootstrapTokenAuthenticator | undefined;
  if (src.kind === 'kubernetes-secret') {
    const apis = kubernetesCaApis(src.kubeConfig);
    ({ material, created } = await loadOrCreateSecretCa(apis.secrets, { namespace: src.namespace, name: src.name, trustDomain: o.trustDomain }));
    authenticator = new TokenReviewAuthenticator({ api: apis.tokenReview });
  } else {
    if (src.kind === 'directory') material = loadCaFromDirectory(src.dir);
    else ({ material, created } = await loadOrCreateLocalCa(src.dir, o.trustDomain));
    authenticator = bootstrapTokens = new BootstrapTokenAuthenticator();
  }
  const ca = await CertificateAuthority.create({
    trustDomain: o.trustDomain,
    material,
    certificateTtlMs: o.certificateTtlMs,
    extraTrustedRoots: o.extraTrustedRootsPem ? [o.extraTrustedRootsPem] : undefined,
  });
  return { ca, authenticator, bootstrapTokens, created };
}
