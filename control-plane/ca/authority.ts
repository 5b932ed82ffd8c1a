/**
 * The certificate authority: signs a workload's CSR for the identity its credential proved (never
 * the one the CSR asks for) and hands out the trust bundle, which may hold several roots so a
 * root can be rotated with overlap.
 */
import { X509Certificate as NodeX509, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { isDnsLabel, parseSpiffeId, spiffeId } from '../../api/names';
import { createLogger } from '../../api/log';
import { CA_ERRORS, CaError } from './errors';
import { DerError, DerSigner, derToPem, parseCsr, sigAlgFor, signLeaf, subjectOfCertificate } from './der';
import { importSigningKey, nodeCert, randomSerial, splitPemCertificates, x509 } from './pki';

/** CA material in cert-manager's Secret layout (PEM text of `tls.crt`, `tls.key`, `ca.crt`). */
export interface CaMaterial {
  /** The signing CA certificate, optionally followed by intermediates up to (not including) the root. */
  readonly tlsCrt: string;
  /** The signing CA's private key. Never logged. */
  readonly tlsKey: string;
  /** The root(s) to trust. @default tls.crt itself when it is self-signed */
  readonly caCrt?: string;
}

/** The identity a credential proved: a Kubernetes ServiceAccount. */
export interface WorkloadIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** What the CA hands back for one CSR. */
export interface IssuedCertificate {
  /** Leaf then intermediates, PEM. */
  readonly certChainPem: string;
  /** Every trusted root, PEM concatenated. */
  readonly trustBundlePem: string;
  readonly spiffeId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serial: string;
}

/** Props of a CertificateAuthority. */
export interface CertificateAuthorityProps {
  /** SPIFFE trust domain of the identities issued. */
  readonly trustDomain: string;
  /** The signing CA (cert-manager layout). */
  readonly material: CaMaterial;
  /** Further roots to trust beside the signer's (the old or the next root during a rotation). @default none */
  readonly extraTrustedRoots?: readonly string[];
  /** Lifetime of workload certificates. @default 24 h */
  readonly certificateTtlMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
  /**
   * Told when an `onTrustChange` listener throws (or its promise rejects). The CA has switched
   * already; the other listeners still run. @default one line on stderr
   */
  readonly onListenerError?: (error: unknown) => void;
}

const issueChannel = channel('weft:ca:issue');
const SKEW_MS = 60_000;

/** The signer after validation: what issuing needs, computed once. */
interface Signer {
  readonly der: DerSigner;
  readonly notAfter: Date;
  readonly chainPem: string;
  readonly roots: string[];
  /** tls.crt's certificates (signer first), to check leaves presented for renewal. */
  readonly chain: readonly string[];
  /** SHA-256 fingerprint of the signing certificate: one signer, however often its material is re-read. */
  readonly fingerprint: string;
}

async function loadSigner(m: CaMaterial, now: number): Promise<Signer> {
  const chain = splitPemCertificates(m.tlsCrt);
  if (chain.length === 0) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, 'tls.crt holds no certificate');
  const head = nodeCert(chain[0], 'tls.crt');
  if (!head.ca) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, 'tls.crt is not a CA certificate (basicConstraints CA:TRUE is required)');
  if (Date.parse(head.validTo) <= now) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, `tls.crt expired at ${head.validTo}; rotate the CA`);
  await importSigningKey(m.tlsKey); // refuses key types the CA cannot sign with, with a clear message
  const key = createPrivateKey(m.tlsKey);
  if (!head.checkPrivateKey(key)) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, 'tls.key does not match tls.crt');
  const selfSigned = head.checkIssued(head) && head.verify(head.publicKey);
  const roots = m.caCrt ? splitPemCertificates(m.caCrt) : selfSigned ? [chain[0]] : [];
  if (roots.length === 0) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, 'tls.crt is not self-signed and ca.crt is missing: give the root in ca.crt');
  const top = nodeCert(chain[chain.length - 1], 'tls.crt');
  const anchored = roots.some((r) => {
    const root = nodeCert(r, 'ca.crt');
    return root.fingerprint256 === top.fingerprint256 || (top.checkIssued(root) && top.verify(root.publicKey));
  });
  if (!anchored) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, 'tls.crt does not chain to any root in ca.crt');
  const cert = new x509.X509Certificate(chain[0]);
  // Intermediates travel with each leaf; a self-signed signer is itself the root, so it does not.
  const chainPem = selfSigned ? '' : chain.join('');
  // Extensions every leaf shares, encoded once: an X.509-SVID leaf (not a CA, signs, both TLS roles).
  const fixedExtensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(cert.publicKey),
  ].map((e) => Buffer.from(e.rawData));
  const der: DerSigner = { key, alg: sigAlgFor(key), issuer: subjectOfCertificate(chain[0]), fixedExtensions };
  return { der, notAfter: new Date(head.validTo), chainPem, roots, chain, fingerprint: head.fingerprint256 };
}

const uniq = (pems: string[]): string[] => {
  const seen = new Set<string>();
  return pems.filter((p) => {
    const f = new NodeX509(p).fingerprint256;
    if (seen.has(f)) return false;
    seen.add(f);
    return true;
  });
};

/** Signs workload CSRs. Create with `CertificateAuthority.create()`. */
export class CertificateAuthority {
  /** Trust domain of every identity this CA issues. */
  public readonly trustDomain: string;
  /** Default workload certificate lifetime in ms. */
  public readonly certificateTtlMs: number;
  private readonly now: () => number;
  private signer: Signer;
  private extraRoots: string[];
  /** Signers replaced by rotateSigner: their leaves stay renewable while their roots are trusted. */
  private previousSigners: Signer[] = [];
  private readonly signerListeners = new Set<() => void | Promise<void>>();
  private readonly onListenerError: (error: unknown) => void;
  private issuedCount = 0;

  private constructor(props: CertificateAuthorityProps, signer: Signer) {
    this.trustDomain = props.trustDomain;
    this.certificateTtlMs = props.certificateTtlMs ?? 24 * 3600_000;
    this.now = props.now ?? Date.now;
    this.signer = signer;
    this.onListenerError = props.onListenerError ?? ((e) => createLogger('weft-ca').error(`a trust-change listener failed: ${(e as Error)?.message ?? e}`));
    this.extraRoots = uniq([...(props.extraTrustedRoots ?? [])].flatMap(splitPemCertificates));
  }

  /** Validates the material (CA flag, key match, expiry, chain to a root) and builds the CA. */
  public static async create(props: CertificateAuthorityProps): Promise<CertificateAuthority> {
    if (!props.trustDomain) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, 'trustDomain is empty');
    if (props.certificateTtlMs !== undefined && !(props.certificateTtlMs >= 60_000)) {
      throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, `certificateTtlMs ${props.certificateTtlMs} is below one minute`);
    }
    return new CertificateAuthority(props, await loadSigner(props.material, (props.now ?? Date.now)()));
  }

  /** Every trusted root, PEM concatenated: the signer's roots first, then the extra ones. */
  public trustBundlePem(): string {
    return uniq([...this.signer.roots, ...this.extraRoots]).join('');
  }

  /** Rotation step 1/3: trust `rootPem` as well (proxies pick it up on their next renewal). */
  public addTrustedRoot(rootPem: string): void {
    this.extraRoots = uniq([...this.extraRoots, ...splitPemCertificates(rootPem)]);
    this.notify();
  }

  /**
   * Rotation step 2/3: sign with new material from now on. The old signer's roots stay trusted
   * (moved to the extra roots) until `removeTrustedRoot` — step 3/3, once old leaves have expired.
   */
  public async rotateSigner(material: CaMaterial): Promise<void> {
    const next = await loadSigner(material, this.now());
    this.extraRoots = uniq([...this.extraRoots, ...this.signer.roots]);
    // One entry per signer: the same signer again (material re-read) or a return to a previous one
    // must not push out the signers whose leaves still need renewing.
    const previous = next.fingerprint === this.signer.fingerprint ? this.previousSigners : [this.signer, ...this.previousSigners];
    this.previousSigners = previous.filter((sg) => sg.fingerprint !== next.fingerprint).slice(0, 4);
    this.signer = next;
    this.notify();
  }

  /**
   * Rotation steps 1/3 and 3/3 from the material: same signer (`tls.crt`/`tls.key`), new `ca.crt`.
   * The signer's roots become exactly those `ca.crt` lists (checked as at start: the signer must
   * still chain to one); a root it listed before and lists no more leaves the bundle. Nothing else
   * changes (no previous signer is recorded). WEFT_ERR_CA_BAD_MATERIAL when `tls.crt` names another signer.
   */
  public async updateRoots(material: CaMaterial): Promise<void> {
    const next = await loadSigner(material, this.now());
    if (next.fingerprint !== this.signer.fingerprint) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, 'tls.crt is another signer: use rotateSigner');
    const listed = new Set(next.roots.map((p) => new NodeX509(p).fingerprint256));
    const dropped = new Set(this.signer.roots.map((p) => new NodeX509(p).fingerprint256).filter((f) => !listed.has(f)));
    this.extraRoots = this.extraRoots.filter((p) => !dropped.has(new NodeX509(p).fingerprint256));
    this.signer = next;
    this.notify();
  }

  /** Runs every trust-change listener; one that throws is reported and does not stop the others. */
  private notify(): void {
    for (const l of this.signerListeners) {
      try {
        const r = l();
        if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).catch(this.onListenerError);
      } catch (e) {
        this.onListenerError(e);
      }
    }
  }

  /**
   * Called after each rotateSigner/updateRoots/addTrustedRoot/removeTrustedRoot (re-issue serving
   * certificates, republish the bundle), after the change took effect. A listener that throws is
   * reported (`onListenerError`) and does not undo the change or stop the other listeners.
   */
  public onTrustChange(listener: () => void | Promise<void>): () => void {
    this.signerListeners.add(listener);
    return () => this.signerListeners.delete(listener);
  }

  /**
   * The identity a presented workload certificate proves (mTLS renewal): it must be a leaf this
   * CA (or a previous signer whose root is still trusted) issued, valid now, with exactly one
   * SPIFFE ID of this trust domain. WEFT_ERR_CA_CERT_EXPIRED / WEFT_ERR_CA_CERT_UNTRUSTED otherwise.
   */
  public verifyWorkloadCertificate(cert: Buffer | string): WorkloadIdentity {
    let leaf: NodeX509;
    try {
      leaf = new NodeX509(cert);
    } catch (e) {
      throw new CaError(CA_ERRORS.CERT_UNTRUSTED, 'the presented client certificate cannot be parsed', { cause: e });
    }
    const now = this.now();
    if (Date.parse(leaf.validTo) <= now || Date.parse(leaf.validFrom) > now) {
      throw new CaError(CA_ERRORS.CERT_EXPIRED, `the presented client certificate is not valid now (${leaf.validFrom} .. ${leaf.validTo}); renew with the credential`);
    }
    if (leaf.ca) throw new CaError(CA_ERRORS.CERT_UNTRUSTED, 'the presented client certificate is a CA certificate');
    const rootPems = splitPemCertificates(this.trustBundlePem());
    const bundle = new Set(rootPems.map((p) => new NodeX509(p).fingerprint256));
    // Issuers: the signing certificates whose roots are still in the bundle, and the roots themselves.
    const signers = [this.signer, ...this.previousSigners].filter((sg) => sg.roots.some((r) => bundle.has(new NodeX509(r).fingerprint256)));
    const issuers = [...signers.map((sg) => sg.chain[0]), ...rootPems].map((p) => new NodeX509(p));
    const signed = issuers.some((i) => {
      try {
        return leaf.checkIssued(i) && leaf.verify(i.publicKey);
      } catch {
        return false;
      }
    });
    if (!signed) throw new CaError(CA_ERRORS.CERT_UNTRUSTED, 'the presented client certificate was not issued by this mesh\'s CA');
    const uris = (leaf.subjectAltName ?? '').split(', ').filter((p) => p.startsWith('URI:')).map((p) => p.slice(4));
    const parsed = uris.length === 1 ? parseSpiffeId(uris[0]) : undefined;
    if (!parsed || parsed.trustDomain !== this.trustDomain || !isDnsLabel(parsed.namespace) || !isDnsLabel(parsed.serviceAccount)) {
      throw new CaError(CA_ERRORS.CERT_UNTRUSTED, `the presented client certificate names no workload of trust domain ${this.trustDomain}`);
    }
    return { namespace: parsed.namespace, serviceAccount: parsed.serviceAccount };
  }

  /** Stops trusting a root (by PEM). The signer's own roots cannot be removed. */
  public removeTrustedRoot(rootPem: string): void {
    const gone = new Set(splitPemCertificates(rootPem).map((p) => new NodeX509(p).fingerprint256));
    const own = new Set(this.signer.roots.map((p) => new NodeX509(p).fingerprint256));
    this.extraRoots = this.extraRoots.filter((p) => {
      const f = new NodeX509(p).fingerprint256;
      return !gone.has(f) || own.has(f);
    });
    this.notify();
  }

  /**
   * A serving certificate for the CA's own gRPC endpoint (key made here, in the control plane),
   * for `caServerCredentials`. Lives as long as the signer allows, up to `ttlMs`.
   */
  public issueServingCertificate(names: { dnsNames?: readonly string[]; ipAddresses?: readonly string[]; spiffeId?: string }, ttlMs = 365 * 86_400_000): { certChainPem: string; keyPem: string; trustBundlePem: string; notAfter: Date } {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const s = this.signer;
    const now = this.now();
    const notAfter = new Date(Math.floor(Math.min(now + ttlMs, s.notAfter.getTime()) / 1000) * 1000);
    const der = signLeaf(s.der, {
      serialHex: randomSerial(),
      notBefore: new Date(Math.floor((now - SKEW_MS) / 1000) * 1000),
      notAfter,
      subject: [['2.5.4.10', 'weft'], ['2.5.4.3', names.dnsNames?.[0] ?? 'weft-ca']],
      spki: publicKey.export({ type: 'spki', format: 'der' }),
      uri: names.spiffeId,
      dns: names.dnsNames,
      ips: names.ipAddresses,
    });
    return {
      certChainPem: derToPem(der, 'CERTIFICATE') + s.chainPem,
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      trustBundlePem: this.trustBundlePem(),
      notAfter,
    };
  }

  /** Certificates issued since start. */
  public get issued(): number {
    return this.issuedCount;
  }

  /**
   * Signs `csrPem` for `identity`. The CSR's key is used; its names are not: a CSR asking for any
   * name other than the identity's SPIFFE ID is refused (WEFT_ERR_CA_IDENTITY_MISMATCH).
   */
  public async issue(csrPem: string, identity: WorkloadIdentity, opts: { ttlMs?: number } = {}): Promise<IssuedCertificate> {
    const id = spiffeId(this.trustDomain, identity.namespace, identity.serviceAccount);
    let csr: ReturnType<typeof parseCsr>;
    try {
      csr = parseCsr(csrPem);
    } catch (e) {
      throw new CaError(CA_ERRORS.BAD_CSR, `csr_pem refused: ${e instanceof DerError ? e.message : 'not a PKCS#10 request'}`, { cause: e });
    }
    const curve = csr.publicKey.asymmetricKeyDetails?.namedCurve;
    if (csr.publicKey.asymmetricKeyType !== 'ec' || (curve !== 'prime256v1' && curve !== 'secp384r1')) {
      throw new CaError(CA_ERRORS.BAD_KEY, `CSR key is ${csr.publicKey.asymmetricKeyType} ${curve ?? ''}; the CA signs ECDSA P-256/P-384 keys`);
    }
    for (const san of csr.sans) {
      if (san !== `uri:${id}`) throw new CaError(CA_ERRORS.IDENTITY_MISMATCH, `CSR asks for ${san} but the credential proves ${id}`);
    }
    const s = this.signer;
    const now = this.now();
    const notBefore = new Date(Math.floor((now - SKEW_MS) / 1000) * 1000);
    const notAfter = new Date(Math.floor(Math.min(now + (opts.ttlMs ?? this.certificateTtlMs), s.notAfter.getTime()) / 1000) * 1000);
    const serial = randomSerial();
    const der = signLeaf(s.der, {
      serialHex: serial,
      notBefore,
      notAfter,
      subject: [['2.5.4.10', 'weft'], ['2.5.4.11', identity.namespace]],
      spki: csr.spki,
      uri: id,
    });
    this.issuedCount++;
    if (issueChannel.hasSubscribers) issueChannel.publish({ spiffeId: id, serial, notAfter });
    return {
      certChainPem: derToPem(der, 'CERTIFICATE') + s.chainPem,
      trustBundlePem: this.trustBundlePem(),
      spiffeId: id,
      notBefore,
      notAfter,
      serial,
    };
  }
}
