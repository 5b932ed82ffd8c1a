/**
 * Transparent mode (`weft up --netns`, Linux, root): like a pod, each replica gets its own network
 * namespace, joined by a veth to a bridge `weft-<id>b` that `weft up` creates on a private
 * 10.250.<n>.0/24. Inside, iptables captures traffic as the Kubernetes `iptables` interception
 * does: inbound TCP to the replica's address is REDIRECTed to the sidecar (15006); outbound TCP to
 * a service address is sent to the sidecar's outbound port (15001). Service names resolve through
 * `/etc/netns/<ns>/hosts` (bind-mounted by `ip netns exec`), so apps need no HTTP_PROXY. Every
 * interface, namespace, rule and file is removed on stop (and on process exit).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { UP_ERRORS, UpError } from './errors';
import type { MeshPlan } from './plan';

/** The sidecar's fixed ports inside a namespace (as in a pod). */
export const NETNS_PORTS = { inbound: 15006, outbound: 15001, admin: 15020 } as const;

/** One replica's namespace. */
export interface ReplicaNetwork {
  readonly ns: string;
  readonly address: string;
  /** argv → argv run inside the namespace. */
  readonly wrap: (argv: readonly string[]) => readonly string[];
  /** Whether something listens on 127.0.0.1:`port` inside the namespace (the app; from outside, iptables would answer with the sidecar). */
  readonly probe: (port: number) => Promise<boolean>;
}

/** The networks of one run. */
export interface Networks {
  /** The bridge's address on the host (control plane and CA listen there). */
  readonly hostAddress: string;
  /** Service name → the address apps resolve it to. */
  readonly serviceAddresses: ReadonlyMap<string, string>;
  replica(id: string): ReplicaNetwork | undefined;
  destroy(): Promise<void>;
}

function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new UpError(UP_ERRORS.netns, `${cmd} ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`, { cause: e });
  }
}

/** bash's /dev/tcp inside `ns`: true when 127.0.0.1:`port` accepts. */
function probeInNs(ns: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const { execFile } = require('node:child_process') as typeof import('node:child_process');
    execFile('ip', ['netns', 'exec', ns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { timeout: 2000 }, (err) => resolve(!err));
  });
}

/** Checks Linux, root, `ip` and `iptables`; throws WEFT_ERR_UP_NETNS with the fix. */
export function checkNetnsSupport(): void {
  if (process.platform !== 'linux') throw new UpError(UP_ERRORS.netns, `--netns needs Linux (this is ${process.platform})`, { exitCode: 2 });
  if (process.getuid?.() !== 0) throw new UpError(UP_ERRORS.netns, '--netns needs root (network namespaces and iptables)', { exitCode: 2 });
  for (const [tool, flag] of [['ip', '-V'], ['iptables', '--version']]) {
    try {
      execFileSync(tool, [flag], { stdio: 'ignore' });
    } catch {
      throw new UpError(UP_ERRORS.netns, `--netns needs \`${tool}\` (Debian: apt-get install -y iproute2 iptables)`, { exitCode: 2 });
    }
  }
}

/** A 10.250.<n>.0/24 no route of this host uses yet. */
function freeSubnet(): number {
  const routes = run('ip', ['-4', 'route', 'show']);
  for (let tries = 0; tries < 50; tries++) {
    const n = 1 + Math.floor(Math.random() * 250);
    if (!routes.includes(`10.250.${n}.`)) return n;
  }
  throw new UpError(UP_ERRORS.netns, 'no free 10.250.<n>.0/24 subnet on this host');
}

/** Creates the bridge, one namespace per replica, the hosts files and the capture rules. */
export async function createNetworks(plan: MeshPlan, _stateDir: string): Promise<Networks> {
  checkNetnsSupport();
  if (plan.replicas.length > 120) throw new UpError(UP_ERRORS.netns, `--netns supports up to 120 replicas (have ${plan.replicas.length})`, { exitCode: 2 });
  const id = randomBytes(2).toString('hex');
  const n = freeSubnet();
  const net = `10.250.${n}`;
  const bridge = `weft-${id}b`;
  const hostAddress = `${net}.1`;
  const undo: (() => void)[] = [];
  const destroySync = () => {
    for (const u of undo.splice(0).reverse()) {
      try {
        u();
      } catch {
        /* best effort: keep removing the rest */
      }
    }
  };
  process.once('exit', destroySync);
  // service addresses: the upper half of the /24, one per service (like ClusterIPs)
  const services = [...new Map(plan.replicas.map((r) => [`${r.service}.${r.namespace}`, r])).values()];
  const serviceAddresses = new Map(services.map((r, i) => [`${r.service}.${r.namespace}`, `${net}.${129 + i}`]));
  const replicas = new Map<string, ReplicaNetwork>();
  try {
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    undo.push(() => run('ip', ['link', 'del', bridge]));
    run('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    // bridged traffic may traverse the host's FORWARD chain (br_netfilter): let ours through
    run('iptables', ['-I', 'FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']);
    undo.push(() => run('iptables', ['-D', 'FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']));
    plan.replicas.forEach((r, i) => {
      const ns = `weft-${id}-${i}`;
      const host = `weft-${id}h${i}`;
      const peer = `weft-${id}n${i}`;
      const address = `${net}.${2 + i}`;
      run('ip', ['netns', 'add', ns]);
      undo.push(() => run('ip', ['netns', 'del', ns]));
      run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      undo.push(() => run('ip', ['link', 'del', host]));
      run('ip', ['link', 'set', peer, 'netns', ns]);
      run('ip', ['link', 'set', host, 'master', bridge]);
      run('ip', ['link', 'set', host, 'up']);
      const inNs = (cmd: string, args: string[]) => run('ip', ['netns', 'exec', ns, cmd, ...args]);
      inNs('ip', ['addr', 'add', `${address}/24`, 'dev', peer]);
      inNs('ip', ['link', 'set', peer, 'up']);
      inNs('ip', ['link', 'set', 'lo', 'up']);
      // inbound: every TCP connection to the replica's address, except the sidecar's own ports → 15006
      inNs('iptables', ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '-d', address, '-m', 'multiport', '!', '--dports', `${NETNS_PORTS.inbound},${NETNS_PORTS.admin}`, '-j', 'REDIRECT', '--to-ports', String(NETNS_PORTS.inbound)]);
      // outbound: connections to service addresses → the sidecar's outbound listener
      inNs('iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', `${net}.128/25`, '-j', 'DNAT', '--to-destination', `${address}:${NETNS_PORTS.outbound}`]);
      const etc = `/etc/netns/${ns}`;
      mkdirSync(etc, { recursive: true });
      undo.push(() => rmSync(etc, { recursive: true, force: true }));
      const lines = ['127.0.0.1 localhost', '::1 localhost'];
      for (const [key, ip] of serviceAddresses) {
        const [svc, svcNs] = key.split('.');
        lines.push(`${ip} ${svcNs === r.namespace ? `${svc} ` : ''}${svc}.${svcNs} ${svc}.${svcNs}.svc ${svc}.${svcNs}.svc.cluster.local`);
      }
      writeFileSync(`${etc}/hosts`, `${lines.join('\n')}\n`);
      replicas.set(r.id, { ns, address, wrap: (argv) => ['ip', 'netns', 'exec', ns, ...argv], probe: (port) => probeInNs(ns, port) });
    });
  } catch (e) {
    destroySync();
    process.removeListener('exit', destroySync);
    throw e;
  }
  return {
    hostAddress,
    serviceAddresses,
    replica: (rid) => replicas.get(rid),
    async destroy() {
      destroySync();
      process.removeListener('exit', destroySync);
    },
  };
}
