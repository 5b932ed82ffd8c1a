/**
 * `weft self-check`: proves the runtime a proxy or control plane needs works where it runs (the
 * from-scratch OCI image above all): Envoy protos load, an ECDSA P-256 key and certificate can be
 * made, mutual TLS and HTTP/1.1 and HTTP/2 work over loopback. Prints one JSON report.
 */
import 'reflect-metadata'; // @peculiar/x509's tsyringe needs it loaded first
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import * as x509 from '@peculiar/x509';
import * as protobuf from 'protobufjs';
import { WeftError } from '../../api/errors';
import { UsageError, usageErrorExit } from '../check/problems';

/** Result of one probe. `code` is set when it failed. */
export interface ProbeResult {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail?: Record<string, unknown>;
  readonly code?: string;
  readonly error?: string;
}

/** The JSON report `weft self-check` prints. */
export interface SelfCheckReport {
  readonly ok: boolean;
  readonly node: string;
  readonly openssl: string;
  readonly platform: string;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly probes: readonly ProbeResult[];
}

/** Options of {@link runSelfCheck}. */
export interface SelfCheckOptions {
  /**
   * Directory holding `envoy-api/`, `xds/`, `googleapis/`, `protoc-gen-validate/` and `protobufjs/`.
   * @default - `$WEFT_PROTO_DIR`, else the copies inside the installed @grpc/grpc-js-xds and protobufjs
   */
  readonly protoDir?: string;
  /**
   * Deadline of each probe, in milliseconds.
   * @default 10000
   */
  readonly timeoutMs?: number;
}

/** A failed probe; `code` is one of `WEFT_ERR_SELF_CHECK_*`. */
export class SelfCheckError extends WeftError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'SelfCheckError';
  }
}

/** The Envoy protos weft's proxy and control plane load (the xDS resource types and ADS). */
export const SELF_CHECK_PROTOS: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
];

/** Include directories, `$WEFT_PROTO_DIR` first (the image has no node_modules to resolve). */
export function selfCheckProtoDirs(protoDir = process.env.WEFT_PROTO_DIR): string[] {
  const subdirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'];
  if (protoDir) return [...subdirs, 'protobufjs'].map((d) => path.join(protoDir, d));
  const xds = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return [...subdirs.map((d) => path.join(xds, 'deps', d)), path.dirname(require.resolve('protobufjs/package.json'))];
}

function loadProtos(protoDir: string | undefined): Record<string, unknown> {
  const dirs = selfCheckProtoDirs(protoDir);
  const missing = dirs.filter((d) => !fs.existsSync(d));
  if (missing.length) throw new SelfCheckError('WEFT_ERR_SELF_CHECK_PROTOS', `proto directories missing: ${missing.join(', ')}`);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => dirs.map((d) => path.join(d, target)).find((p) => fs.existsSync(p)) ?? target;
  root.loadSync([...SELF_CHECK_PROTOS], { keepCase: true });
  root.resolveAll();
  const ads = root.lookupService('envoy.service.discovery.v3.AggregatedDiscoveryService');
  // Round-trip one message so encoding, not just parsing, is exercised.
  const req = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
  const bytes = req.encode(req.fromObject({ type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', resource_names: ['a'] })).finish();
  const back = req.toObject(req.decode(bytes)) as { resource_names?: string[] };
  if (back.resource_names?.[0] !== 'a') throw new SelfCheckError('WEFT_ERR_SELF_CHECK_PROTOS', 'DiscoveryRequest did not round-trip');
  return { files: SELF_CHECK_PROTOS.length, adsMethods: Object.keys(ads.methods), includeDirs: dirs, weftProtos: loadWeftProtos(protoDir) };
}

/** weft's own protos the image ships under `<protoDir>/weft/` (repository paths); each must parse. */
function loadWeftProtos(protoDir = process.env.WEFT_PROTO_DIR): string[] {
  const base = protoDir ? path.join(protoDir, 'weft') : undefined;
  if (!base || !fs.existsSync(base)) return [];
  const files = (fs.readdirSync(base, { recursive: true }) as string[]).filter((f) => f.endsWith('.proto')).sort();
  for (const f of files) {
    const root = new protobuf.Root();
    root.loadSync(path.join(base, f), { keepCase: true });
    root.resolveAll();
  }
  return files;
}

interface SelfCert {
  readonly certPem: string;
  readonly keyPem: string;
  readonly spiffeId: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A self-signed ECDSA P-256 certificate with a SPIFFE URI SAN, made the way the proxy makes its key. */
async function makeSelfCert(): Promise<SelfCert> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const spiffeId = 'spiffe://self-check.weft.local/ns/weft/sa/self-check';
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + Date.now().toString(16),
    name: 'CN=weft self-check',
    notBefore,
    notAfter: new Date(notBefore.getTime() + 3_600_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
    ],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY'), spiffeId };
}

/** Mutual TLS 1.3 over loopback; each side checks the other's SPIFFE URI SAN. */
async function tlsHandshake(c: SelfCert): Promise<Record<string, unknown>> {
  const server = tls.createServer({ cert: c.certPem, key: c.keyPem, ca: c.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (s) => {
    s.end(`${s.getPeerCertificate().subjectaltname ?? ''}\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const sock = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      cert: c.certPem,
      key: c.keyPem,
      ca: c.certPem,
      minVersion: 'TLSv1.3',
      // Mesh peers are named by SPIFFE ID, not by DNS name.
      checkServerIdentity: (_host, cert) => (cert.subjectaltname === `URI:${c.spiffeId}` ? undefined : new Error(`unexpected peer ${cert.subjectaltname}`)),
    });
    let seen = '';
    sock.on('data', (d: Buffer) => (seen += d.toString()));
    await once(sock, 'end');
    if (seen.trim() !== `URI:${c.spiffeId}`) throw new SelfCheckError('WEFT_ERR_SELF_CHECK_TLS', `server saw client identity ${JSON.stringify(seen.trim())}`);
    return { protocol: sock.getProtocol(), cipher: sock.getCipher().name, peer: c.spiffeId };
  } finally {
    server.close();
  }
}

/** An HTTP/1.1 server on 127.0.0.1:0 and one request through it, body echoed back. */
async function http1RoundTrip(): Promise<Record<string, unknown>> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'x-weft-method': req.method ?? '' }).end(Buffer.concat(chunks)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as AddressInfo).port;
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/self-check', agent: false });
    req.end('ping');
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    let body = '';
    for await (const d of res) body += (d as Buffer).toString();
    if (res.statusCode !== 200 || body !== 'ping') throw new SelfCheckError('WEFT_ERR_SELF_CHECK_HTTP', `HTTP/1.1 got ${res.statusCode} ${JSON.stringify(body)}`);
    return { status: res.statusCode, httpVersion: res.httpVersion, port };
  } finally {
    server.close();
  }
}

/** HTTP/2 over the mutual TLS of {@link tlsHandshake}, negotiated with ALPN `h2`. */
async function http2RoundTrip(c: SelfCert): Promise<Record<string, unknown>> {
  const server = http2.createSecureServer({ cert: c.certPem, key: c.keyPem, ca: c.certPem, requestCert: true, rejectUnauthorized: true, allowHTTP1: false });
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('pong');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = http2.connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    cert: c.certPem,
    key: c.keyPem,
    ca: c.certPem,
    checkServerIdentity: () => undefined,
  });
  try {
    const stream = client.request({ ':path': '/self-check' });
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    let body = '';
    for await (const d of stream) body += (d as Buffer).toString();
    if (Number(headers[':status']) !== 200 || body !== 'pong') throw new SelfCheckError('WEFT_ERR_SELF_CHECK_HTTP2', `HTTP/2 got ${headers[':status']} ${JSON.stringify(body)}`);
    return { status: headers[':status'], alpn: client.alpnProtocol };
  } finally {
    client.close();
    server.close();
  }
}

async function probe(name: string, code: string, timeoutMs: number, fn: () => Promise<Record<string, unknown>>): Promise<ProbeResult> {
  const start = process.hrtime.bigint();
  const ms = () => Number((process.hrtime.bigint() - start) / 1_000_000n);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SelfCheckError('WEFT_ERR_SELF_CHECK_TIMEOUT', `${name} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const detail = await Promise.race([fn(), deadline]);
    return { name, ok: true, ms: ms(), detail };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { name, ok: false, ms: ms(), code: WeftError.isWeftError(e) ? err.code : code, error: err.message ?? String(e) };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every probe in order and returns the report; it never throws. */
export async function runSelfCheck(opts: SelfCheckOptions = {}): Promise<SelfCheckReport> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const probes: ProbeResult[] = [];
  probes.push(await probe('protos', 'WEFT_ERR_SELF_CHECK_PROTOS', timeoutMs, async () => loadProtos(opts.protoDir)));
  let cert: SelfCert | undefined;
  probes.push(await probe('keygen', 'WEFT_ERR_SELF_CHECK_KEYGEN', timeoutMs, async () => {
    cert = await makeSelfCert();
    return { algorithm: 'ECDSA P-256', spiffeId: cert.spiffeId };
  }));
  const withCert = (f: (c: SelfCert) => Promise<Record<string, unknown>>) => async () => {
    if (!cert) throw new SelfCheckError('WEFT_ERR_SELF_CHECK_KEYGEN', 'no certificate (keygen failed)');
    return f(cert);
  };
  probes.push(await probe('tls', 'WEFT_ERR_SELF_CHECK_TLS', timeoutMs, withCert(tlsHandshake)));
  probes.push(await probe('http1', 'WEFT_ERR_SELF_CHECK_HTTP', timeoutMs, http1RoundTrip));
  probes.push(await probe('http2', 'WEFT_ERR_SELF_CHECK_HTTP2', timeoutMs, withCert(http2RoundTrip)));
  return {
    ok: probes.every((p) => p.ok),
    node: process.version,
    openssl: process.versions.openssl,
    platform: `${process.platform}/${process.arch}`,
    uid: process.getuid?.(),
    gid: process.getgid?.(),
    probes,
  };
}

/** Registers `weft self-check`. */
export function register(program: Command): void {
  program
    .command('self-check')
    .description('check that this runtime can run weft (protos, keys, mutual TLS, HTTP/1.1, HTTP/2 on loopback); prints a JSON report')
    .option('--proto-dir <dir>', 'directory holding the Envoy protos (envoy-api/, xds/, googleapis/, protoc-gen-validate/, protobufjs/); default $WEFT_PROTO_DIR, else node_modules')
    .option('--timeout <ms>', 'deadline of each probe in milliseconds', '10000')
    .exitOverride(usageErrorExit)
    .action(async (opts: { protoDir?: string; timeout: string }) => {
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
        throw new UsageError('WEFT_ERR_USAGE', `--timeout: ${JSON.stringify(opts.timeout)} is not a positive integer`);
      }
      const report = await runSelfCheck({ protoDir: opts.protoDir, timeoutMs });
      process.stdout.write(`${JSON.stringify(report)}\n`);
      if (!report.ok) {
        const failed = report.probes.filter((p) => !p.ok);
        throw new SelfCheckError('WEFT_ERR_SELF_CHECK_FAILED', `failed: ${failed.map((p) => `${p.name} (${p.code}: ${p.error})`).join('; ')}`);
      }
    });
}
