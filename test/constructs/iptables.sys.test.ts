/**
 * The iptables init container's rules, applied for real with iptables-restore in a network namespace
 * this test creates (`unshare --net`): app traffic is redirected to the proxy, the proxy's own UID is not.
 * Needs root and iptables (Debian: iptables, iproute2, util-linux); skipped otherwise.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MeshService, Protocol } from '../../constructs';
import { find, fixture, synth } from './support';

function canRun(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('unshare', ['--net', 'iptables-restore', '--version'], { stdio: 'ignore' });
    execFileSync('unshare', ['--net', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const maybe = canRun() ? test : test.skip;

maybe('outbound TCP from the app goes to 15001; the proxy UID, loopback and DNS are untouched; inbound rule installed', () => {
  const f = fixture();
  new MeshService(f.chart, 'web', { mesh: f.mesh, image: 'w:1', port: 9080, protocol: Protocol.HTTP });
  const objs = synth(f.chart);
  const init = find(objs, 'Deployment', 'web-v1').spec.template.spec.initContainers.find((c: any) => c.name === 'weft-init');
  expect(init.command).toEqual(['iptables-restore', '--noflush', '/etc/weft/iptables.rules']);
  // GIVEN the ConfigMap key written where the init container's mount would put it
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-iptables-'));
  const rulesFile = path.join(dir, 'iptables.rules');
  fs.writeFileSync(rulesFile, find(objs, 'ConfigMap', 'web-v1-weft').data['iptables.rules']);
  const argv = [init.command[0], ...init.command.slice(1, -1), rulesFile];

  const r = spawnSync('unshare', ['--net', process.execPath, path.join(__dirname, 'fixtures/iptables-probe.js'), JSON.stringify(argv)], { encoding: 'utf8', timeout: 20_000 });
  fs.rmSync(dir, { recursive: true, force: true });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout);
  expect(out.asApp).toBe('outbound');
  expect(out.asProxy).toBe('app');
  expect(out.loopback).toBe('app');
  expect(out.dns).toBe('dns');
  expect(out.rules).toContain('-A WEFT_INBOUND -p tcp -m tcp --dport 9080 -j REDIRECT --to-ports 15006');
  expect(out.rules).toContain('-A PREROUTING -p tcp -j WEFT_INBOUND');
});
