/**
 * CA and mTLS benchmark (not a test): certificates issued per second (in process, and over gRPC
 * end to end) and TLS handshakes per second with and without client certificates.
 * Run: npx ts-node --transpile-only bench/ca/ca-bench.ts [--issue N] [--handshakes N] [--concurrency C]
 */
import * as tls from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { BootstrapTokenAuthenticator } from '../../control-plane/ca/authn';
import { CertificateAuthority } from '../../control-plane/ca/authority';
import { generateRoot } from '../../control-plane/ca/pki';
import { CA_PROTO_PATH, startCaServer } from '../../control-plane/ca/service';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { generateKeyAndCsr } from '../../proxy/identity/csr';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? d : Number(process.argv[i + 1]);
};
const ISSUE = arg('issue', 2000);
const HANDSHAKES = arg('handshakes', 1000);
const CONC = arg('concurrency', 8);

async function pool(n: number, conc: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) await fn(next++);
  }));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
  const root = await generateRoot({ trustDomain: 'bench.local' });
  const ca = await CertificateAuthority.create({ trustDomain: 'bench.local', material: { tlsCrt: root.certPem, tlsKey: root.keyPem } });
  const csrs = await Promise.all(Array.from({ length: 64 }, () => generateKeyAndCsr()));
  const id = { namespace: 'bench', serviceAccount: 'svc' };
  for (let i = 0; i < 50; i++) await ca.issue(csrs[i % csrs.length].csrPem, id); // warm-up
  const tIssue = await pool(ISSUE, CONC, (i) => ca.issue(csrs[i % csrs.length].csrPem, id));

  // Over gRPC: one channel, CSRs made beforehand (key generation is the proxy's cost, once a day).
  const tokens = new BootstrapTokenAuthenticator();
  const server = await startCaServer(ca, { authenticator: tokens });
  const GRPC = Math.min(ISSUE, 1000);
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(CA_PROTO_PATH, { keepCase: true, longs: Number })) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const stub = new pkg.weft.ca.v1.CertificateAuthority(server.address, grpc.credentials.createInsecure());
  const creds = Array.from({ length: GRPC }, () => tokens.mint(id));
  const tGrpc = await pool(GRPC, CONC * 4, (i) => new Promise<void>((resolve, reject) =>
    stub.IssueCertificate({ csr_pem: csrs[i % csrs.length].csrPem, credential: creds[i] }, (e: Error | null) => (e ? reject(e) : resolve())),
  ));
  stub.close();
  await server.close();

  const [serverLeaf, clientLeaf] = await Promise.all([0, 1].map(async () => {
    const k = await generateKeyAndCsr();
    return { keyPem: k.keyPem, certPem: (await ca.issue(k.csrPem, id)).certChainPem };
  }));
  async function handshakes(mutual: boolean): Promise<number> {
    const srv = tls.createServer({ key: serverLeaf.keyPem, cert: serverLeaf.certPem, ca: root.certPem, requestCert: mutual, rejectUnauthorized: mutual }, (s) => s.end());
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as AddressInfo).port;
    const client = tls.createSecureContext({ ca: root.certPem, ...(mutual ? { key: clientLeaf.keyPem, cert: clientLeaf.certPem } : {}) });
    const t = await pool(HANDSHAKES, CONC, () => new Promise<void>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', secureContext: client, checkServerIdentity: () => undefined, session: undefined }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    }));
    srv.close();
    return HANDSHAKES / t;
  }
  const tlsOnly = await handshakes(false);
  const mtls = await handshakes(true);
  console.log(JSON.stringify({
    node: process.version,
    concurrency: CONC,
    issuePerSecInProcess: Math.round(ISSUE / tIssue),
    issuePerSecOverGrpc: Math.round(GRPC / tGrpc),
    handshakesPerSecServerAuthOnly: Math.round(tlsOnly),
    handshakesPerSecMutual: Math.round(mtls),
    mtlsHandshakeCostPct: Math.round((1 - mtls / tlsOnly) * 100),
  }, null, 2));
}

void main();
