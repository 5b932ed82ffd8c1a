/**
 * `weft control-plane --source=kubernetes` as a real process (so @kubernetes/client-node loads the
 * way production loads it, not the test bundle) against the recorded API server, with the exact
 * flags the constructs put in the Deployment: it syncs, serves, writes status conditions, stops on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecording, RecordedApiServer } from '../support/recorded-k8s/server';

let api: RecordedApiServer;
let root: string;

beforeAll(async () => {
  api = await RecordedApiServer.start();
  for (const l of ['meshconfigs', 'meshservices', 'canaryroutes', 'mtlspolicies', 'services', 'endpointslices', 'pods']) api.load(readRecording(`${l}.json`));
  root = await mkdtemp(join(tmpdir(), 'weft-cp-k8s-'));
  await writeFile(
    join(root, 'kubeconfig'),
    `apiVersion: v1
kind: Config
clusters: [{ name: recorded, cluster: { server: "${api.url}", insecure-skip-tls-verify: true } }]
users: [{ name: weft, user: { token: recorded-token } }]
contexts: [{ name: recorded, context: { cluster: recorded, user: weft } }]
current-context: recorded
`,
  );
});

afterAll(async () => {
  await api.close();
  await rm(root, { recursive: true, force: true });
});

test('syncs from the API, serves /ready and /status, patches status conditions, exits 0 on SIGTERM', async () => {
  const child = spawn(process.execPath, [
    join(__dirname, '..', '..', 'bin', 'weft.js'), 'control-plane', '--source=kubernetes', '--mesh-config=mesh', '--xds-port=0', '--admin-port=0', '--host=127.0.0.1', `--kubeconfig=${join(root, 'kubeconfig')}`,
  ]);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const ready = await new Promise<{ statusPort: number; xdsPort: number }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { statusPort: number; xdsPort: number });
      });
      void exited.then((code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
    });
    const base = `http://127.0.0.1:${ready.statusPort}`;
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const status = (await (await fetch(`${base}/status`)).json()) as { resources: { kind: string; name: string; accepted: boolean }[] };
    expect(status.resources.map((r) => `${r.kind}/${r.name}:${r.accepted}`).sort()).toEqual([
      'CanaryRoute/reviews-canary:true',
      'MeshConfig/mesh:true',
      'MeshService/ratings:true',
      'MeshService/reviews:true',
      'MtlsPolicy/ratings-authz:true',
    ]);
    const patches = () => api.requests.filter((r) => r.method === 'PATCH');
    for (let i = 0; i < 200 && patches().length < 5; i++) await new Promise((r) => setTimeout(r, 25));
    expect(patches()).toHaveLength(5);
    expect(patches().every((p) => p.contentType === 'application/merge-patch+json')).toBe(true);
    expect(api.lists('Pod')).toHaveLength(1);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}, 120_000);
