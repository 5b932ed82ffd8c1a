/**
 * runControlPlane() in-process with the local source and the CA: the MeshConfig chosen by
 * --mesh-config sets the trust domain, a sidecar with a one-time token gets its SPIFFE certificate
 * over real gRPC, and the CA material persists in the state directory.
 */
import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { BootstrapTokenAuthenticator } from '../../control-plane/ca/authn';
import { caServiceDefinition } from '../../control-plane/ca/service';
import { optionsFromFlags, runControlPlane, RunningControlPlane } from '../../control-plane/main';
import { generateKeyAndCsr } from '../../proxy/identity/csr';
import { strictMeshConfigYaml } from '../support/waiting';


let root: string;
let running: RunningControlPlane | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weft-main-'));
  await mkdir(join(root, 'dist'));
  await writeFile(join(root, 'dist', 'mesh.yaml'), [strictMeshConfigYaml('first.local', 'a-mesh'), strictMeshConfigYaml('shop.local', 'shop')].join('---\n'));
});

afterAll(async () => {
  await running?.stop();
  await rm(root, { recursive: true, force: true });
});

test('serves xDS, status and a CA whose trust domain is the selected MeshConfig', async () => {
  const opts = optionsFromFlags({ source: 'local', dist: join(root, 'dist'), port: '0', statusPort: '0', caPort: '0', stateDir: join(root, 'state'), meshConfig: 'shop' });
  running = await runControlPlane(opts, () => undefined);
  expect(running.source.lastSnapshot?.resources.map((r) => r.metadata.name)).toEqual(['shop']);
  expect(existsSync(join(root, 'state', 'ca', 'tls.crt'))).toBe(true);

  const token = (running.ca!.authenticator as BootstrapTokenAuthenticator).mint({ namespace: 'shop', serviceAccount: 'reviews' });
  const { csrPem } = await generateKeyAndCsr();
  const Client = grpc.makeGenericClientConstructor(caServiceDefinition(), 'CertificateAuthority');
  // TLS by default: the CA's serving certificate verifies against the bundle written to <stateDir>/ca-root.pem.
  expect(running.ca!.tls).toBe(true);
  expect(running.ca!.trustAnchorFile).toBe(join(root, 'state', 'ca-root.pem'));
  const anchor = readFileSync(running.ca!.trustAnchorFile!);
  const client = new Client(`127.0.0.1:${running.ca!.server.port}`, grpc.credentials.createSsl(anchor)) as unknown as grpc.Client & {
    IssueCertificate(req: unknown, cb: (err: grpc.ServiceError | null, res: { spiffe_id: string; cert_chain_pem: string; not_after_unix_ms: number }) => void): void;
  };
  try {
    const res = await new Promise<{ spiffe_id: string; cert_chain_pem: string; not_after_unix_ms: number }>((resolve, reject) =>
      client.IssueCertificate({ csr_pem: csrPem, credential: token }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(res.spiffe_id).toBe('spiffe://shop.local/ns/shop/sa/reviews');
    expect(res.cert_chain_pem).toContain('BEGIN CERTIFICATE');
    // certificateTtl 2h from the MeshConfig (allowing for clock skew backdating)
    expect(Number(res.not_after_unix_ms) - Date.now()).toBeLessThanOrEqual(2 * 3_600_000 + 60_000);
    // The token was one-time: a replay is refused with a coded reason.
    const replay = await new Promise<grpc.ServiceError | null>((resolve) => client.IssueCertificate({ csr_pem: csrPem, credential: token }, (err) => resolve(err)));
    expect(replay?.code).toBe(grpc.status.UNAUTHENTICATED);
  } finally {
    client.close();
  }

  const status = await (await fetch(`http://127.0.0.1:${running.controlPlane.statusPort}/ready`)).text();
  expect(status).toContain('ready');
});

test('a CA for a MeshConfig that does not exist refuses to start (it would mint foreign identities)', async () => {
  const opts = optionsFromFlags({ source: 'local', dist: join(root, 'dist'), port: '0', statusPort: '0', caPort: '0', stateDir: join(root, 'state2'), meshConfig: 'nope' });
  const logged: string[] = [];
  await expect(runControlPlane(opts, (_level, msg) => logged.push(msg))).rejects.toMatchObject({ code: 'WEFT_ERR_CP_MESH_CONFIG_MISSING' });
  expect(logged.some((m) => m.includes('MeshConfig "nope" not found'))).toBe(true);
});

test('the flag names the constructs use in the Deployment are accepted', () => {
  expect(optionsFromFlags({ source: 'local', caPort: '0', caInsecure: true }).caInsecure).toBe(true);
  expect(optionsFromFlags({ source: 'local', caPort: '0' }).caInsecure).toBeUndefined(); // TLS unless asked
  expect(optionsFromFlags({ source: 'kubernetes', meshConfig: 'mesh', xdsPort: '15010', caPort: '15012', adminPort: '15014' })).toMatchObject({
    port: 15010,
    statusPort: 15014,
    caPort: 15012,
    meshConfig: 'mesh',
    caSecretName: 'weft-ca',
  });
});
