/**
 * Who is asking for a certificate. The identity always comes from the credential (a one-time
 * bootstrap token locally, a ServiceAccount token in Kubernetes), never from the CSR.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isDnsLabel } from '../../api/names';
import type { WorkloadIdentity } from './authority';
import { CA_ERRORS, CaError } from './errors';

/** What a credential proved. */
export interface Authentication {
  readonly identity: WorkloadIdentity;
  /** A credential the proxy must present next time (one-time tokens chain), or undefined to reuse its own. */
  readonly nextCredential?: string;
}

/** Checks a credential. Throws a CaError (WEFT_ERR_CA_UNAUTHENTICATED, …_TOKEN_EXPIRED, …_NOT_A_WORKLOAD) on refusal. */
export interface Authenticator {
  authenticate(credential: string, ctx: { readonly certificateTtlMs: number }): Promise<Authentication>;
}

/** Props of a BootstrapTokenAuthenticator. */
export interface BootstrapTokenProps {
  /** How long a minted token stays usable. @default 10 minutes */
  readonly ttlMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  readonly identity: WorkloadIdentity;
  readonly expiresAt: number;
}

const hash = (t: string): string => createHash('sha256').update(t).digest('hex');

/**
 * One-time bootstrap tokens for local meshes (`weft up` mints one per sidecar). A token works
 * once, until it expires; a successful use returns a fresh one-time renewal token valid for one
 * certificate lifetime (plus the bootstrap ttl), so renewals need no long-lived secret. Only
 * hashes of tokens are kept in memory.
 */
export class BootstrapTokenAuthenticator implements Authenticator {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly tokens = new Map<string, Entry>();

  constructor(props: BootstrapTokenProps = {}) {
    this.ttlMs = props.ttlMs ?? 10 * 60_000;
    this.now = props.now ?? Date.now;
  }

  /** Mints a one-time token for `identity`, usable for `ttlMs` (default: the authenticator's ttl). */
  public mint(identity: WorkloadIdentity, ttlMs = this.ttlMs): string {
    if (!isDnsLabel(identity.namespace) || !isDnsLabel(identity.serviceAccount)) {
      throw new CaError(CA_ERRORS.NOT_A_WORKLOAD, `namespace "${identity.namespace}" / serviceAccount "${identity.serviceAccount}" must be DNS-1123 labels`);
    }
    this.sweep();
    const token = 'wbt_' + randomBytes(24).toString('base64url');
    this.tokens.set(hash(token), { identity: { namespace: identity.namespace, serviceAccount: identity.serviceAccount }, expiresAt: this.now() + ttlMs });
    return token;
  }

  /** Tokens minted and not yet used or expired. */
  public get outstanding(): number {
    this.sweep();
    return this.tokens.size;
  }

  public async authenticate(credential: string, ctx: { readonly certificateTtlMs: number }): Promise<Authentication> {
    // Lookup by SHA-256 of the token: no timing oracle on the token itself, no plaintext kept.
    const h = hash(credential);
    const entry = this.tokens.get(h);
    if (!entry) {
      throw new CaError(CA_ERRORS.UNAUTHENTICATED, 'bootstrap token unknown or already used');
    }
    this.tokens.delete(h); // single use, whatever happens next
    if (entry.expiresAt <= this.now()) throw new CaError(CA_ERRORS.TOKEN_EXPIRED, 'bootstrap token expired');
    return { identity: entry.identity, nextCredential: this.mint(entry.identity, ctx.certificateTtlMs + this.ttlMs) };
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.tokens) if (e.expiresAt <= now) this.tokens.delete(k);
  }
}

/** Parses `system:serviceaccount:<ns>:<sa>`; undefined for any other user name. */
export function serviceAccountFromUsername(username: string | undefined): WorkloadIdentity | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username ?? '');
  if (!m || !isDnsLabel(m[1]) || !isDnsLabel(m[2])) return undefined;
  return { namespace: m[1], serviceAccount: m[2] };
}
