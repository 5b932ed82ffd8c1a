/**
 * The proxy's identity from the control plane's CA: make a key, send a CSR with the credential,
 * hold the certificate, renew at 70 % of its lifetime, retry with backoff while keeping the
 * current one, and fail closed (no identity) once it expires (linkerd2-proxy certify.rs). The CA is
 * dialed over TLS and verified against the bootstrap's trust anchor, by the name dialed and by the
 * control plane's SPIFFE ID, before any credential is sent.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WeftError } from '../../api/errors';
import { parseSpiffeId } from '../../api/names';
import { Clock, systemClock } from './clock';
import { generateKeyAndCsr } from './csr';
import { TLS_ERRORS, TlsError } from './errors';
import { caServerCheck, probeCaTrust } from './ca-probe';
import { spiffeIdOfCert } from './spiffe';
import type { IdentityMaterial, IdentityProvider } from './types';

/**
 * The CA's wire contract; owned by the control plane's CA, read here as a file (no code import).
 * The OCI image ships weft's protos under `$WEFT_PROTO_DIR/weft/<repository path>`.
 */
const CA_PROTO_PATH = shippedProto() ?? join(__dirname, '..', '..', 'control-plane', 'ca', 'weft-ca.proto');

function shippedProto(): string | undefined {
  const dir = process.env.WEFT_PROTO_DIR;
  const p = dir ? join(dir, 'weft', 'control-plane', 'ca', 'weft-ca.proto') : undefined;
  return p && existsSync(p) ? p : undefined;
}

/** Props of a CaClientIdentityProvider. */
export interface CaClientProps {
  /** host:port of the CA (bootstrap `controlPlane.ca`, or the xDS address). */
  readonly address: string;
  /** Trust domain the certificate must be in. */
  readonly trustDomain: string;
  /** The credential: a string, a function, or read fresh from `tokenPath` on each attempt (kubelet rotates projected tokens). */
  readonly credential?: string | (() => string | Promise<string>);
  /** File holding the credential (bootstrap `identity.tokenPath`); used when `credential` is not given. */
  readonly tokenPath?: string;
  /** The SPIFFE ID to ask for in the CSR. @default none (the CA names the identity the credential proves) */
  readonly spiffeId?: string;
  /** Channel credentials to reach the CA. @default TLS with `trustAnchor` when given, else insecure */
  readonly channelCredentials?: grpc.ChannelCredentials;
  /**
   * Root(s) the CA endpoint's certificate must chain to, before this proxy holds any certificate
   * (bootstrap `identity.caTrustAnchorFile`/`caTrustAnchorPem`). The file is re-read on every
   * attempt, so a rotated ConfigMap is picked up. A CA that does not verify is refused
   * (WEFT_ERR_IDENTITY_CA_UNTRUSTED) before the credential is sent. @default none
   */
  readonly trustAnchor?: { readonly file?: string; readonly pem?: string };
  /**
   * SPIFFE ID the CA endpoint's certificate must carry (only with `trustAnchor`; bootstrap
   * `controlPlane.xdsIdentity`). Another ID is refused (WEFT_ERR_IDENTITY_CA_WRONG_IDENTITY) before
   * the credential is sent. @default any `spiffe://<trustDomain>/ns/<ns>/sa/weft-control-plane`
   */
  readonly expectedCaIdentity?: string;
  /**
   * Renew by presenting the current certificate (mTLS to the CA) with no credential, so the one-time
   * bootstrap token buys only the first certificate (`weft up`). Needs `trustAnchor`. Falls back to
   * the credential when there is no valid certificate or the CA refused it. @default false
   */
  readonly renewWithCertificate?: boolean;
  /** gRPC channel options (e.g. `grpc.ssl_target_name_override` when dialing the CA by IP). @default none */
  readonly channelOptions?: grpc.ChannelOptions;
  /** Fraction of the remaining lifetime after which to renew. @default 0.7 */
  readonly renewFraction?: number;
  /** First retry delay after a failure. @default 1000 */
  readonly minRetryMs?: number;
  /** Retry delay cap. @default 60000 */
  readonly maxRetryMs?: number;
  /** Uniform [0, 1) source of the retry jitter (tests and `WEFT_RANDOM_SEED` fix it). @default Math.random */
  readonly random?: () => number;
  /** Deadline of one IssueCertificate call. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Clock and timers. @default systemClock */
  readonly clock?: Clock;
  /** Told about each failed attempt (the current certificate, if any, stays in use). */
  readonly onError?: (e: WeftError) => void;
}

interface IssueResponse {
  cert_chain_pem: string;
  trust_bundle_pem: string;
  spiffe_id: string;
  not_after_unix_ms: number;
  renewal_credential: string;
}

type CaStub = grpc.Client & {
  IssueCertificate(req: { csr_pem: string; credential: string }, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: IssueResponse) => void): void;
};

let stubCtor: (new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => CaStub) | undefined;
function caStub(address: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions): CaStub {
  if (!stubCtor) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(CA_PROTO_PATH, { keepCase: true, longs: Number, defaults: true })) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    stubCtor = pkg.weft.ca.v1.CertificateAuthority;
  }
  return new stubCtor!(address, creds, options);
}

const pemBlocks = (pem: string): string[] => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

/** Whether leaf → intermediates → one of the bundle's roots verifies, signature by signature. */
function chainsToBundle(chainPem: string, bundlePem: string): boolean {
  try {
    const chain = pemBlocks(chainPem).map((p) => new X509Certificate(p));
    const roots = pemBlocks(bundlePem).map((p) => new X509Certificate(p));
    if (chain.length === 0 || roots.length === 0) return false;
    for (let i = 0; i + 1 < chain.length; i++) if (!chain[i].verify(chain[i + 1].publicKey)) return false;
    const top = chain[chain.length - 1];
    return roots.some((r) => r.fingerprint256 === top.fingerprint256 || (top.checkIssued(r) && top.verify(r.publicKey)));
  } catch {
    return false;
  }
}

/** Counters for the admin endpoint. */
export interface CaClientStats {
  readonly issued: number;
  readonly failures: number;
  readonly lastErrorCode?: string;
}

/**
 * IdentityProvider backed by the CA. Call `start()`; `ready` resolves with the first certificate.
 * Metrics: `expiresAt()` / `secondsToExpiry()` feed the expiry gauge (`weft_identity_cert_expiry_seconds`).
 */
export class CaClientIdentityProvider implements IdentityProvider {
  /** Resolves with the first certificate; rejects only when closed before one arrives. */
  public readonly ready: Promise<IdentityMaterial>;
  private readonly clock: Clock;
  /** The CA endpoint's name + SPIFFE ID check; one function, so grpc-js can share subchannels of equal credentials. */
  private readonly caCheck: ReturnType<typeof caServerCheck>;
  /** Channels by (anchor, client certificate); replaced when either changes. */
  private stubs = new Map<string, CaStub>();
  private certRenewalRefused = false;
  private material: IdentityMaterial | undefined;
  private readonly listeners = new Set<(m: IdentityMaterial) => void>();
  private readonly expiredListeners = new Set<() => void>();
  private renewalCredential: string | undefined;
  private timer: unknown;
  private expiryTimer: unknown;
  private retryMs: number;
  private inFlight: Promise<IdentityMaterial> | undefined;
  private closed = false;
  private started = false;
  private counters = { issued: 0, failures: 0, lastErrorCode: undefined as string | undefined };
  private resolveReady!: (m: IdentityMaterial) => void;
  private rejectReady!: (e: Error) => void;

  constructor(private readonly props: CaClientProps) {
    if (props.credential === undefined && props.tokenPath === undefined) {
      throw new TlsError(TLS_ERRORS.NO_IDENTITY, 'CaClientIdentityProvider needs credential or tokenPath');
    }
    this.clock = props.clock ?? systemClock;
    this.caCheck = caServerCheck({ trustDomain: props.trustDomain, expectedIdentity: props.expectedCaIdentity });
    this.retryMs = props.minRetryMs ?? 1000;
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => undefined); // a caller that never awaits must not see an unhandled rejection
  }

  /** Starts fetching; returns `ready`. */
  public start(): Promise<IdentityMaterial> {
    if (!this.started) {
      this.started = true;
      void this.attempt();
    }
    return this.ready;
  }

  public current(): IdentityMaterial | undefined {
    return this.material;
  }

  public onChange(listener: (m: IdentityMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when the certificate expired without a renewal: mTLS now fails closed; alert on it. */
  public onExpired(listener: () => void): () => void {
    this.expiredListeners.add(listener);
    return () => this.expiredListeners.delete(listener);
  }

  /** Expiry of the current certificate, for the expiry gauge. */
  public expiresAt(): Date | undefined {
    return this.material?.notAfter;
  }

  /** Seconds until the current certificate expires (negative never: undefined once expired). */
  public secondsToExpiry(): number | undefined {
    return this.material ? Math.max(0, (this.material.notAfter.getTime() - this.clock.now()) / 1000) : undefined;
  }

  public stats(): CaClientStats {
    return { ...this.counters };
  }

  /** Renews now (e.g. after a trust-bundle rotation); resolves with the new material or rejects with the coded error. */
  public renewNow(): Promise<IdentityMaterial> {
    this.clock.clearTimeout(this.timer);
    return this.attempt();
  }

  /** Stops renewing and closes the channel. */
  public close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.expiryTimer);
    for (const stub of this.stubs.values()) stub.close();
    this.stubs.clear();
    this.rejectReady(new TlsError(TLS_ERRORS.NO_IDENTITY, 'identity provider closed'));
  }

  private attempt(): Promise<IdentityMaterial> {
    if (this.closed) return Promise.reject(new TlsError(TLS_ERRORS.NO_IDENTITY, 'identity provider closed'));
    this.inFlight ??= this.fetch().then(
      (m) => {
        this.inFlight = undefined;
        this.accept(m);
        return m;
      },
      (e: WeftError) => {
        this.inFlight = undefined;
        this.counters.failures++;
        this.counters.lastErrorCode = e.code;
        this.props.onError?.(e);
        this.schedule(this.nextRetry());
        throw e;
      },
    );
    const p = this.inFlight;
    p.catch(() => undefined);
    return p;
  }

  private nextRetry(): number {
    const base = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.props.maxRetryMs ?? 60_000);
    // Full jitter on the upper half, so a fleet of sidecars does not renew in lockstep.
    return Math.round(base / 2 + (this.props.random ?? Math.random)() * (base / 2));
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => void this.attempt(), ms);
  }

  private accept(m: IdentityMaterial): void {
    if (this.closed) return;
    this.material = m;
    this.counters.issued++;
    this.retryMs = this.props.minRetryMs ?? 1000;
    const now = this.clock.now();
    const frac = this.props.renewFraction ?? 0.7;
    this.schedule(Math.max(0, Math.round((m.notAfter.getTime() - now) * frac)));
    this.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = this.clock.setTimeout(() => this.expire(m), Math.max(0, m.notAfter.getTime() - now));
    this.resolveReady(m);
    for (const l of this.listeners) l(m);
  }

  private expire(m: IdentityMaterial): void {
    if (this.material !== m || this.closed) return;
    this.material = undefined; // fail closed: no identity rather than an expired one
    for (const l of this.expiredListeners) l();
  }

  private async credential(): Promise<string> {
    if (this.renewalCredential) return this.renewalCredential;
    const c = this.props.credential;
    if (typeof c === 'string') return c;
    if (typeof c === 'function') return await c();
    return (await readFile(this.props.tokenPath!, 'utf8')).trim();
  }

  /** The trust anchor PEM (re-read from its file each time), or undefined when none is configured. */
  private async anchor(): Promise<string | undefined> {
    const a = this.props.trustAnchor;
    if (!a) return undefined;
    if (a.pem) return a.pem;
    try {
      const pem = await readFile(a.file!, 'utf8');
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw Object.assign(new Error('no PEM certificate in the file'), { code: 'EBADPEM' });
      return pem;
    } catch (e) {
      throw new TlsError(TLS_ERRORS.NO_IDENTITY, `cannot read the CA trust anchor ${a.file}: ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e });
    }
  }

  /** The channel for this attempt: TLS with the anchor (and the client certificate when renewing by certificate). */
  private stubFor(anchor: string | undefined, cert: IdentityMaterial | undefined): CaStub {
    const key = anchor === undefined ? 'explicit' : `${anchor}\0${cert?.certChainPem ?? ''}`;
    let stub = this.stubs.get(key);
    if (stub) return stub;
    const creds = anchor === undefined
      ? this.props.channelCredentials ?? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(Buffer.from(anchor), cert ? Buffer.from(cert.keyPem) : null, cert ? Buffer.from(cert.certChainPem) : null, { checkServerIdentity: this.caCheck });
    // Keep one base channel (no client certificate) and one certificate channel; close what they replace.
    for (const [k, old] of this.stubs) {
      if (k.endsWith('\0') === !cert || k === 'explicit') {
        old.close();
        this.stubs.delete(k);
      }
    }
    stub = caStub(this.props.address, creds, this.props.channelOptions);
    this.stubs.set(key, stub);
    return stub;
  }

  private async fetch(): Promise<IdentityMaterial> {
    const { keyPem, csrPem } = await generateKeyAndCsr(this.props.spiffeId);
    const anchor = await this.anchor();
    const held = this.material;
    const byCert = !!(this.props.renewWithCertificate && anchor !== undefined && held && held.notAfter.getTime() > this.clock.now() && !this.certRenewalRefused);
    let credential = '';
    if (!byCert) {
      try {
        credential = await this.credential();
      } catch (e) {
        throw new TlsError(TLS_ERRORS.NO_IDENTITY, `cannot read the CA credential: ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e });
      }
    }
    const stub = this.stubFor(anchor, byCert ? held : undefined);
    const usedRenewal = !byCert && credential === this.renewalCredential;
    const res = await new Promise<IssueResponse>((resolve, reject) => {
      const deadline = new Date(Date.now() + (this.props.requestTimeoutMs ?? 10_000));
      // waitForReady: while the CA restarts, wait for it up to the deadline rather than fail at once.
      stub.IssueCertificate({ csr_pem: csrPem, credential }, new grpc.Metadata({ waitForReady: true }), { deadline }, (err, r) => {
        if (!err) return resolve(r!);
        const code = err.metadata?.get('weft-error')[0];
        if (typeof code === 'string') return reject(new TlsError(code, `CA: ${err.details || err.message}`, { cause: err }));
        // grpc-js reports a failed handshake as a plain timeout: ask TLS itself whether the CA is untrusted.
        const fail = (why?: string | WeftError) => reject(typeof why === 'object'
          ? why
          : why
            ? new TlsError(TLS_ERRORS.CA_UNTRUSTED, `CA ${this.props.address} is not trusted: ${why} (check the trust anchor ${this.props.trustAnchor?.file ?? ''})`, { cause: err })
            : new TlsError(TLS_ERRORS.CA_UNAVAILABLE, `CA: ${err.details || err.message}`, { cause: err }));
        if (anchor === undefined) return fail();
        probeCaTrust(this.props.address, anchor, this.caCheck, this.props.channelOptions?.['grpc.ssl_target_name_override'] as string | undefined).then(fail, () => fail());
      });
    }).catch((e: WeftError) => {
      // Nothing reached the CA when it was down or not the one we trust: the credential and the certificate stay good.
      const notSent = e.code === TLS_ERRORS.CA_UNAVAILABLE || e.code === TLS_ERRORS.CA_UNTRUSTED || e.code === TLS_ERRORS.CA_WRONG_IDENTITY;
      // A refused renewal token is spent; fall back to the base credential next time.
      if (usedRenewal && !notSent) this.renewalCredential = undefined;
      // A refused certificate (expired, root dropped): the next attempt presents the credential.
      if (byCert && !notSent) this.certRenewalRefused = true;
      throw e;
    });
    this.certRenewalRefused = false;
    if (usedRenewal) this.renewalCredential = undefined;
    if (res.renewal_credential) this.renewalCredential = res.renewal_credential;
    return this.check(res, keyPem);
  }

  /** Refuses a response this proxy cannot serve with: wrong key, foreign trust domain, already expired. */
  private check(res: IssueResponse, keyPem: string): IdentityMaterial {
    const bad = (why: string) => new TlsError(TLS_ERRORS.BAD_CA_RESPONSE, `CA response refused: ${why}`);
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(res.cert_chain_pem);
    } catch {
      throw bad('cert_chain_pem is not a certificate');
    }
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw bad('certificate is not for our key');
    const id = spiffeIdOfCert(leaf.subjectAltName);
    if (!id || id !== res.spiffe_id || parseSpiffeId(id)?.trustDomain !== this.props.trustDomain) throw bad(`certificate names ${id ?? 'no SPIFFE ID'}`);
    if (this.props.spiffeId && id !== this.props.spiffeId) throw bad(`certificate names ${id}, expected ${this.props.spiffeId}`);
    const notAfter = new Date(leaf.validTo);
    if (notAfter.getTime() <= this.clock.now()) throw bad(`certificate expired at ${leaf.validTo}`);
    if (!chainsToBundle(res.cert_chain_pem, res.trust_bundle_pem)) throw bad('certificate chain does not lead to the trust bundle');
    return { certChainPem: res.cert_chain_pem, keyPem, trustBundlePem: res.trust_bundle_pem, spiffeId: id, notAfter };
  }
}

/**
 * The CA client a sidecar runs from its bootstrap: CA address (else the xDS one), credential file,
 * trust anchor (TLS to the CA; plaintext only when none is given) and renewal by certificate.
 */
export function caClientFromBootstrap(
  b: { readonly controlPlane?: { readonly xds: string; readonly ca?: string; readonly xdsIdentity?: string }; readonly identity: { readonly trustDomain: string; readonly tokenPath?: string; readonly caTrustAnchorFile?: string; readonly caTrustAnchorPem?: string; readonly renewWithCertificate?: boolean } },
  extra: Partial<CaClientProps> = {},
): CaClientIdentityProvider {
  const id = b.identity;
  const anchor = id.caTrustAnchorFile || id.caTrustAnchorPem ? { file: id.caTrustAnchorFile, pem: id.caTrustAnchorPem } : undefined;
  return new CaClientIdentityProvider({
    address: b.controlPlane?.ca ?? b.controlPlane?.xds ?? '',
    trustDomain: id.trustDomain,
    tokenPath: id.tokenPath,
    // The CA runs in the control plane, so it presents the control plane's identity (the xDS server's).
    ...(anchor ? { trustAnchor: anchor, renewWithCertificate: id.renewWithCertificate === true, expectedCaIdentity: b.controlPlane?.xdsIdentity } : {}),
    ...extra,
  });
}
