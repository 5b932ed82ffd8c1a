/**
 * The CA as a gRPC service (weft-ca.proto), added to any grpc-js Server — the ADS server's or
 * its own. Refusals carry a gRPC status and the `weft-error` metadata naming the WEFT_ERR code.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WeftError } from '../../api/errors';
import type { Authentication, Authenticator } from './authn';
import type { CertificateAuthority } from './authority';
import { CA_ERRORS } from './errors';

/**
 * Path of the service definition; the proxy's client loads the same file. The OCI image ships
 * weft's protos under `$WEFT_PROTO_DIR/weft/<repository path>` (a bundle has no source tree).
 */
export const CA_PROTO_PATH = shippedProto() ?? join(__dirname, 'weft-ca.proto');

function shippedProto(): string | undefined {
  const dir = process.env.WEFT_PROTO_DIR;
  const p = dir ? join(dir, 'weft', 'control-plane', 'ca', 'weft-ca.proto') : undefined;
  return p && existsSync(p) ? p : undefined;
}

/** Fully qualified service name. */
export const CA_SERVICE_NAME = 'weft.ca.v1.CertificateAuthority';

/** Largest csr_pem / credential accepted, in characters. */
const MAX_FIELD = 16 * 1024;

let cached: grpc.ServiceDefinition | undefined;

/** The CertificateAuthority service definition loaded with @grpc/proto-loader. */
export function caServiceDefinition(): grpc.ServiceDefinition {
  if (!cached) {
    const def = protoLoader.loadSync(CA_PROTO_PATH, { keepCase: true, longs: Number, defaults: true });
    cached = def[CA_SERVICE_NAME] as grpc.ServiceDefinition;
  }
  return cached;
}

/** gRPC status of each refusal code. */
export function grpcStatusOf(code: string): grpc.status {
  switch (code) {
    case CA_ERRORS.UNAUTHENTICATED:
    case CA_ERRORS.TOKEN_EXPIRED:
    case CA_ERRORS.CERT_EXPIRED:
    case CA_ERRORS.CERT_UNTRUSTED:
      return grpc.status.UNAUTHENTICATED;
    case CA_ERRORS.NOT_A_WORKLOAD:
    case CA_ERRORS.IDENTITY_MISMATCH:
      return grpc.status.PERMISSION_DENIED;
    case CA_ERRORS.BAD_CSR:
    case CA_ERRORS.BAD_KEY:
      return grpc.status.INVALID_ARGUMENT;
    case CA_ERRORS.KUBERNETES:
      return grpc.status.UNAVAILABLE;
    default:
      return grpc.status.INTERNAL;
  }
}

/** Options of `addCaService`. */
export interface CaServiceOptions {
  /** Checks the request's credential and names the identity. */
  readonly authenticator: Authenticator;
  /** Called once per refused request with the code (for metrics and logs; never gets the credential). */
  readonly onRefused?: (code: string, message: string) => void;
  /** Called once per issued certificate. */
  readonly onIssued?: (spiffeId: string, notAfter: Date) => void;
  /**
   * Renewal by mTLS: a request with an empty credential is authenticated by the client certificate
   * it presented (the proxy's current one; identity from the certificate, which the CSR must match).
   * Off in Kubernetes, where renewals keep presenting the projected token, so a deleted
   * ServiceAccount stops getting certificates. Needs TLS server credentials that request a client
   * certificate (`caServerCredentials`). @default false
   */
  readonly certificateAuthentication?: boolean;
}

interface IssueRequest {
  csr_pem: string;
  credential: string;
}

/** Adds the CertificateAuthority service to `server` (call before `bindAsync`/`start` completes). */
export function addCaService(server: grpc.Server, ca: CertificateAuthority, options: CaServiceOptions): void {
  const refuse = (cb: grpc.sendUnaryData<unknown>, code: string, message: string) => {
    options.onRefused?.(code, message);
    const metadata = new grpc.Metadata();
    metadata.set('weft-error', code);
    const status = grpcStatusOf(code);
    cb({ code: status, details: status === grpc.status.INTERNAL ? `${code}: internal error` : `${code}: ${message}`, metadata });
  };
  server.addService(caServiceDefinition(), {
    IssueCertificate: (call: grpc.ServerUnaryCall<IssueRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const { csr_pem: csrPem, credential } = call.request;
      if (!csrPem || csrPem.length > MAX_FIELD) return refuse(cb, CA_ERRORS.BAD_CSR, `csr_pem must be 1..${MAX_FIELD} characters`);
      if (credential.length > MAX_FIELD) return refuse(cb, CA_ERRORS.UNAUTHENTICATED, 'credential too long');
      const peerCert = credential ? undefined : peerCertificateOf(call);
      if (!credential && !options.certificateAuthentication) return refuse(cb, CA_ERRORS.UNAUTHENTICATED, 'credential missing');
      // grpc-js exposes a client certificate only once OpenSSL verified it against the bundle (real time).
      if (!credential && !peerCert) return refuse(cb, CA_ERRORS.CERT_UNTRUSTED, 'no credential and no client certificate that chains to the mesh trust bundle (absent, from another CA, or expired)');
      void (async () => {
        try {
          const auth: Authentication = peerCert
            ? { identity: ca.verifyWorkloadCertificate(peerCert) }
            : await options.authenticator.authenticate(credential, { certificateTtlMs: ca.certificateTtlMs });
          const issued = await ca.issue(csrPem, auth.identity);
          options.onIssued?.(issued.spiffeId, issued.notAfter);
          cb(null, {
            cert_chain_pem: issued.certChainPem,
            trust_bundle_pem: issued.trustBundlePem,
            spiffe_id: issued.spiffeId,
            not_after_unix_ms: issued.notAfter.getTime(),
            renewal_credential: auth.nextCredential ?? '',
          });
        } catch (e) {
          if (WeftError.isWeftError(e)) refuse(cb, e.code, e.message);
          else refuse(cb, 'WEFT_ERR_CA_INTERNAL', String(e));
        }
      })();
    },
  });
}

/** The DER client certificate of a TLS call, if the client sent one and it verified against the server's `ca` (grpc-js). */
function peerCertificateOf(call: grpc.ServerUnaryCall<unknown, unknown>): Buffer | undefined {
  const raw = (call as { getAuthContext?: () => { sslPeerCertificate?: { raw?: Buffer } } }).getAuthContext?.()?.sslPeerCertificate?.raw;
  return raw && raw.length > 0 ? raw : undefined;
}

/**
 * TLS credentials for the CA endpoint: a serving certificate the CA issues itself for
 * `spiffeId`/`dnsNames`/`ipAddresses`. Proxies verify it with the mesh root (their trust anchor),
 * so the bearer credential never crosses the network in the clear. A client certificate is
 * requested but not required (the first request has none; renewals present the current one,
 * checked by `certificateAuthentication`, not by OpenSSL). The serving certificate and the
 * accepted roots are re-issued whenever the CA's signer or bundle changes, without a restart.
 */
export function caServerCredentials(ca: CertificateAuthority, names: { dnsNames?: readonly string[]; ipAddresses?: readonly string[]; spiffeId?: string }): grpc.ServerCredentials {
  const provider = new CaEndpointCertificates(ca, names);
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** A grpc-js CertificateProvider that serves the CA's own certificate and bundle, following rotations. */
class CaEndpointCertificates implements grpc.experimental.CertificateProvider {
  private readonly identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  private readonly caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private identity!: grpc.experimental.IdentityCertificateUpdate;
  private bundle!: grpc.experimental.CaCertificateUpdate;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly ca: CertificateAuthority, private readonly names: { dnsNames?: readonly string[]; ipAddresses?: readonly string[]; spiffeId?: string }) {
    this.refresh();
  }

  private refresh(): void {
    const c = this.ca.issueServingCertificate(this.names);
    this.identity = { certificate: Buffer.from(c.certChainPem), privateKey: Buffer.from(c.keyPem) };
    this.bundle = { caCertificate: Buffer.from(c.trustBundlePem) };
    for (const l of this.identityListeners) l(this.identity);
    for (const l of this.caListeners) l(this.bundle);
  }

  private track(): void {
    const n = this.identityListeners.size + this.caListeners.size;
    if (n > 0 && !this.unsubscribe) this.unsubscribe = this.ca.onTrustChange(() => this.refresh());
    if (n === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
  }

  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(l);
    this.track();
    // Asynchronously: grpc-js registers its watcher only after adding these listeners.
    queueMicrotask(() => this.caListeners.has(l) && l(this.bundle));
  }
  removeCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(l);
    this.track();
  }
  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(l);
    this.track();
    queueMicrotask(() => this.identityListeners.has(l) && l(this.identity));
  }
  removeIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(l);
    this.track();
  }
}

/** Options of `startCaServer`. */
export interface CaServerOptions extends CaServiceOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default insecure (the credential is a bearer token: use TLS credentials off-host) */
  readonly credentials?: grpc.ServerCredentials;
}

/** A running stand-alone CA server. */
export interface CaServer {
  readonly port: number;
  /** host:port to give the proxies. */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts a gRPC server with only the CA service (for a separate CA port, `weft up` and tests). */
export async function startCaServer(ca: CertificateAuthority, options: CaServerOptions): Promise<CaServer> {
  const server = new grpc.Server();
  addCaService(server, ca, options);
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${options.port ?? 0}`, options.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}
