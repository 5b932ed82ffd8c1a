/**
 * The CA's two uses of the Kubernetes API: TokenReview (a projected ServiceAccount token with
 * audience `weft` proves the workload's identity) and the Secret that holds the CA when the
 * user brings none. Typed against client-node's object-parameter API, which is loaded lazily.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Authentication, Authenticator } from './authn';
import { serviceAccountFromUsername } from './authn';
import type { CaMaterial } from './authority';
import { CA_ERRORS, CaError } from './errors';
import { SecretLike, caMaterialFromSecret, caMaterialToSecret } from './material';
import { generateRoot } from './pki';
import type { ConfigMapApi } from '../sources/ca-root-configmap';

/** The TokenReview call of client-node's AuthenticationV1Api. */
export interface TokenReviewApi {
  createTokenReview(param: { body: TokenReviewLike }): Promise<TokenReviewLike>;
}

/** The Secret calls of client-node's CoreV1Api. */
export interface SecretApi {
  readNamespacedSecret(param: { name: string; namespace: string }): Promise<SecretLike>;
  createNamespacedSecret(param: { namespace: string; body: SecretLike }): Promise<SecretLike>;
}

/** A TokenReview as far as the CA cares (client-node's V1TokenReview). */
export interface TokenReviewLike {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly spec: { readonly token?: string; readonly audiences?: string[] };
  readonly status?: {
    readonly authenticated?: boolean;
    readonly audiences?: string[];
    readonly error?: string;
    readonly user?: { readonly username?: string };
  };
}

/**
 * The Kubernetes APIs the CA uses, from a KubeConfig (in-cluster or ~/.kube/config when omitted).
 * `client` is the client-node module itself. @default require('@kubernetes/client-node')
 */
export function kubernetesCaApis(kc?: KubeConfig, client?: typeof import('@kubernetes/client-node')): { tokenReview: TokenReviewApi; secrets: SecretApi; configMaps: ConfigMapApi } {
  // Loaded here, not at the top: client-node is ESM and only the Kubernetes path needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const k8s = client ?? (require('@kubernetes/client-node') as typeof import('@kubernetes/client-node'));
  const config = kc ?? (() => {
    const c = new k8s.KubeConfig();
    c.loadFromDefault();
    return c;
  })();
  return {
    tokenReview: config.makeApiClient(k8s.AuthenticationV1Api) as unknown as TokenReviewApi,
    secrets: config.makeApiClient(k8s.CoreV1Api) as unknown as SecretApi,
    configMaps: config.makeApiClient(k8s.CoreV1Api) as unknown as ConfigMapApi,
  };
}

const httpStatus = (e: unknown): number | undefined => (e as { code?: unknown })?.code as number | undefined;

/** Props of a TokenReviewAuthenticator. */
export interface TokenReviewProps {
  readonly api: TokenReviewApi;
  /** Audience the projected token must carry. @default 'weft' */
  readonly audience?: string;
}

/** Authenticates a projected ServiceAccount token with a TokenReview; the identity is the token's ServiceAccount. */
export class TokenReviewAuthenticator implements Authenticator {
  private readonly api: TokenReviewApi;
  private readonly audience: string;

  constructor(props: TokenReviewProps) {
    this.api = props.api;
    this.audience = props.audience ?? 'weft';
  }

  public async authenticate(credential: string): Promise<Authentication> {
    if (!credential) throw new CaError(CA_ERRORS.UNAUTHENTICATED, 'no ServiceAccount token sent');
    let review: TokenReviewLike;
    try {
      review = await this.api.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: credential, audiences: [this.audience] } },
      });
    } catch (e) {
      throw new CaError(CA_ERRORS.KUBERNETES, `TokenReview failed (HTTP ${httpStatus(e) ?? 'error'})`, { cause: e });
    }
    const st = review.status;
    // The API server's error text may quote the token's claims but never the token; keep it short anyway.
    if (!st?.authenticated) throw new CaError(CA_ERRORS.UNAUTHENTICATED, `token rejected by TokenReview${st?.error ? `: ${st.error.slice(0, 200)}` : ''}`);
    if (st.audiences && !st.audiences.includes(this.audience)) {
      throw new CaError(CA_ERRORS.NOT_A_WORKLOAD, `token audiences [${st.audiences.join(', ')}] lack "${this.audience}"`);
    }
    const identity = serviceAccountFromUsername(st.user?.username);
    if (!identity) throw new CaError(CA_ERRORS.NOT_A_WORKLOAD, `token user "${st.user?.username ?? ''}" is not a ServiceAccount`);
    return { identity };
  }
}

/**
 * Reads the CA Secret `namespace/name`, or generates a root and creates the Secret when there is
 * none. A 409 on create means another replica won the race: its Secret is read and used.
 */
export async function loadOrCreateSecretCa(
  api: SecretApi,
  opts: { namespace: string; name: string; trustDomain: string },
): Promise<{ material: CaMaterial; created: boolean }> {
  const readIt = async (): Promise<CaMaterial | undefined> => {
    try {
      return caMaterialFromSecret(await api.readNamespacedSecret({ name: opts.name, namespace: opts.namespace }));
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      if (e instanceof CaError) throw e;
      throw new CaError(CA_ERRORS.KUBERNETES, `reading Secret ${opts.namespace}/${opts.name} failed (HTTP ${httpStatus(e) ?? 'error'})`, { cause: e });
    }
  };
  const existing = await readIt();
  if (existing) return { material: existing, created: false };
  const root = await generateRoot({ trustDomain: opts.trustDomain });
  const material: CaMaterial = { tlsCrt: root.certPem, tlsKey: root.keyPem, caCrt: root.certPem };
  try {
    await api.createNamespacedSecret({ namespace: opts.namespace, body: caMaterialToSecret(opts.namespace, opts.name, material) });
    return { material, created: true };
  } catch (e) {
    if (httpStatus(e) === 409) {
      const winner = await readIt();
      if (winner) return { material: winner, created: false };
    }
    throw new CaError(CA_ERRORS.KUBERNETES, `creating Secret ${opts.namespace}/${opts.name} failed (HTTP ${httpStatus(e) ?? 'error'})`, { cause: e });
  }
}
