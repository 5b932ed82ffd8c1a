/**
 * The CA's hot path in plain DER on node:crypto: read a CSR and write a leaf certificate without
 * a schema-driven ASN.1 library, which cost ~10× more per certificate than the signature itself.
 * Only the few structures RFC 2986 / RFC 5280 need here; anything unexpected is refused.
 */
import { KeyObject, createPublicKey, sign, verify } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** A DER value: tag, and the byte range of its contents inside the buffer. */
interface Tlv {
  readonly tag: number;
  /** Start of the whole TLV (header included). */
  readonly start: number;
  /** Start of the contents. */
  readonly body: number;
  /** End of the contents (exclusive). */
  readonly end: number;
}

/** Malformed DER; the caller turns it into its own coded error. */
export class DerError extends Error {}

function readTlv(buf: Buffer, off: number, limit = buf.length): Tlv {
  if (off + 2 > limit) throw new DerError('truncated');
  const tag = buf[off];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  let len = buf[off + 1];
  let body = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('indefinite or oversized length');
    if (body + n > limit) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i];
    body += n;
  }
  if (body + len > limit) throw new DerError('length past the end');
  return { tag, start: off, body, end: body + len };
}

/** The TLVs directly inside a constructed value. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = parent.body; off < parent.end; ) {
    const t = readTlv(buf, off, parent.end);
    out.push(t);
    off = t.end;
  }
  return out;
}

const bytes = (buf: Buffer, t: Tlv) => buf.subarray(t.start, t.end);
const contents = (buf: Buffer, t: Tlv) => buf.subarray(t.body, t.end);

// --- writing ---

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Buffer.from([0x80 | out.length, ...out]);
}

/** One TLV from a tag and its contents. */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

const seq = (...p: Buffer[]) => tlv(0x30, ...p);

/** A positive INTEGER from hex. */
function integerHex(hex: string): Buffer {
  let b = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

/** OID from dotted form. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const s = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2), 'latin1')) : tlv(0x18, Buffer.from(s, 'latin1'));
}

const OID_SAN = '2.5.29.17';
const OID_EXT_REQUEST = '1.2.840.113549.1.9.14';

/** Signature algorithms the CA signs with and accepts on CSRs. */
const SIG_ALGS: Record<string, { oid: string; hash: string; params?: Buffer }> = {
  'ecdsa-sha256': { oid: '1.2.840.10045.4.3.2', hash: 'sha256' },
  'ecdsa-sha384': { oid: '1.2.840.10045.4.3.3', hash: 'sha384' },
  'rsa-sha256': { oid: '1.2.840.113549.1.1.11', hash: 'sha256', params: Buffer.from([0x05, 0x00]) },
};
const SIG_BY_OID = new Map(Object.values(SIG_ALGS).map((a) => [oid(a.oid).toString('hex'), a]));

/** DER of a PEM block of `label`. */
export function pemToDer(pem: string, labels: readonly string[]): Buffer {
  const m = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m || !labels.includes(m[1])) throw new DerError(`expected a PEM ${labels[0]}`);
  return Buffer.from(m[2].replace(/\s+/g, ''), 'base64');
}

/** PEM of DER with a label. */
export function derToPem(der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}(?=.)/g, '$&\n')}\n-----END ${label}-----\n`;
}

/** What the CA reads from a CSR. */
export interface ParsedCsr {
  /** DER SubjectPublicKeyInfo, copied into the certificate as is. */
  readonly spki: Buffer;
  readonly publicKey: KeyObject;
  /** Requested SANs as `<kind>:<value>` (`uri:spiffe://…`, `dns:…`, `other:…`). */
  readonly sans: readonly string[];
}

const SAN_KINDS: Record<number, string> = { 0x81: 'email', 0x82: 'dns', 0x86: 'uri', 0x87: 'ip' };

/** Parses a PKCS#10 CSR and verifies its self-signature. Throws DerError when malformed or unsigned. */
export function parseCsr(pem: string): ParsedCsr {
  const der = pemToDer(pem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new DerError('not a SEQUENCE');
  const [cri, alg, sig] = children(der, outer);
  if (!cri || !alg || !sig || cri.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03) throw new DerError('not a CertificationRequest');
  const [version, , spki, attrs] = children(der, cri);
  if (!version || version.tag !== 0x02 || !spki || spki.tag !== 0x30) throw new DerError('bad CertificationRequestInfo');
  const algOid = children(der, alg)[0];
  const sigAlg = algOid && SIG_BY_OID.get(bytes(der, algOid).toString('hex'));
  if (!sigAlg) throw new DerError('unsupported CSR signature algorithm');
  const publicKey = createPublicKey({ key: bytes(der, spki), format: 'der', type: 'spki' });
  const sigBytes = contents(der, sig);
  if (sigBytes[0] !== 0) throw new DerError('signature has unused bits');
  if (!verify(sigAlg.hash, bytes(der, cri), publicKey, sigBytes.subarray(1))) throw new DerError('CSR signature does not verify');
  const sans: string[] = [];
  if (attrs && attrs.tag === 0xa0) {
    for (const attr of children(der, attrs)) {
      const [id, values] = children(der, attr);
      if (!id || bytes(der, id).toString('hex') !== oid(OID_EXT_REQUEST).toString('hex')) continue;
      for (const exts of children(der, values)) {
        for (const ext of children(der, exts)) {
          const parts = children(der, ext);
          if (bytes(der, parts[0]).toString('hex') !== oid(OID_SAN).toString('hex')) continue;
          const value = parts[parts.length - 1];
          const names = readTlv(der, value.body, value.end);
          for (const n of children(der, names)) sans.push(`${SAN_KINDS[n.tag] ?? 'other'}:${contents(der, n).toString('latin1')}`);
        }
      }
    }
  }
  return { spki: Buffer.from(bytes(der, spki)), publicKey, sans };
}

/** The signer's constant parts, prepared once. */
export interface DerSigner {
  readonly key: KeyObject;
  readonly alg: keyof typeof SIG_ALGS;
  /** DER Name of the issuer (the signer's subject). */
  readonly issuer: Buffer;
  /** DER of extensions every leaf carries (basicConstraints, keyUsage, extKeyUsage, AKI). */
  readonly fixedExtensions: readonly Buffer[];
}

/** Picks the signature algorithm for a signing key. */
export function sigAlgFor(key: KeyObject): keyof typeof SIG_ALGS {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-sha256';
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'ecdsa-sha384' : 'ecdsa-sha256';
}

/** Fields of one leaf. */
export interface LeafFields {
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject as (OID, UTF8 value) pairs, one RDN each. */
  readonly subject: readonly (readonly [string, string])[];
  readonly spki: Buffer;
  /** URI SAN: the SPIFFE ID of a workload. */
  readonly uri?: string;
  /** DNS SANs (the CA's own serving certificate). */
  readonly dns?: readonly string[];
  /** IP SANs, as IPv4/IPv6 literals. */
  readonly ips?: readonly string[];
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new DerError(`${ip} is not an IP literal`);
  const [head, tail = ''] = ip.split('::');
  const words = (x: string) => (x ? x.split(':') : []);
  const h = words(head);
  const t = ip.includes('::') ? words(tail) : [];
  const all = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(all.map((w) => Buffer.from(w.padStart(4, '0'), 'hex')));
}

/** Writes and signs a leaf certificate; returns its DER. */
export function signLeaf(s: DerSigner, f: LeafFields): Buffer {
  const a = SIG_ALGS[s.alg];
  const algId = seq(oid(a.oid), ...(a.params ? [a.params] : []));
  const subject = seq(...f.subject.map(([o, v]) => tlv(0x31, seq(oid(o), tlv(0x0c, Buffer.from(v, 'utf8'))))));
  const names = [
    ...(f.uri ? [tlv(0x86, Buffer.from(f.uri, 'latin1'))] : []),
    ...(f.dns ?? []).map((d) => tlv(0x82, Buffer.from(d, 'latin1'))),
    ...(f.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  if (names.length === 0) throw new DerError('a leaf needs at least one SAN');
  // Critical, as X.509-SVIDs mark it; verifiers all understand SAN.
  const san = seq(oid(OID_SAN), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq(...names)));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    integerHex(f.serialHex),
    algId,
    s.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    subject,
    f.spki,
    tlv(0xa3, seq(...s.fixedExtensions, san)),
  );
  const signature = sign(a.hash, tbs, s.key);
  return seq(tbs, algId, tlv(0x03, Buffer.from([0]), signature));
}

/** DER of the subject Name of a certificate (becomes the issuer of the leaves it signs). */
export function subjectOfCertificate(pem: string): Buffer {
  const der = pemToDer(pem, ['CERTIFICATE']);
  const [tbs] = children(der, readTlv(der, 0));
  const parts = children(der, tbs);
  const i = parts[0].tag === 0xa0 ? 1 : 0; // version is optional (v1)
  return Buffer.from(bytes(der, parts[i + 4]));
}
