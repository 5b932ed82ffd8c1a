/**
 * `npm run bench:proxy`: one run, side by side on loopback — direct, nginx and haproxy as two-hop
 * mTLS references, and weft as two sidecars (pooled HTTP/1.1 and multiplexed HTTP/2 between them).
 * Per case: max throughput (wrk, 50 connections), latency at a fixed 1,000 req/s (bench/proxy/
 * loadgen.ts, open loop), proxy CPU at that rate and RSS per proxy process. Results go to
 * bench/proxy/results.{json,md}. A short run (a few seconds per case) on a shared machine: noisy.
 * A naive two-hop Node proxy (bench/proxy/naive.ts, undici) runs in the same run as a Node yardstick.
 *   BENCH_CASES=weft-h2,naive   only these cases (direct, nginx, haproxy, weft-h1, weft-h2, naive)
 *   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"   extra node flags for the weft sidecars
 */
import 'reflect-metadata';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { makeCa, makeLeaf } from '../../test/support/certs';
import * as cfg from './configs';

const ROOT = path.resolve(__dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const CONNECTIONS = 50;
const CASES = new Set((process.env.BENCH_CASES ?? 'direct,nginx,haproxy,weft-h1,weft-h2,naive').split(',').map((c) => c.trim()));
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function waitPort(port: number, ms = 20_000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', () => (Date.now() - start > ms ? reject(new Error(`port ${port} never opened`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}

function start(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  c.stderr?.on('data', (d) => process.env.BENCH_DEBUG && process.stderr.write(d));
  children.push(c);
  return c;
}

function firstLine(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    c.stdout!.on('data', (d) => {
      out += d;
      const i = out.indexOf('\n');
      if (i >= 0) resolve(out.slice(0, i));
    });
    c.once('exit', (code) => reject(new Error(`${c.spawnfile} exited ${code}`)));
  });
}

/** CPU seconds (user+system) of a process so far. */
function cpuSeconds(pid: number): number {
  const [user, sys] = cpuSplit(pid);
  return user + sys;
}

/** [user, system] CPU seconds of a process so far. */
function cpuSplit(pid: number): [number, number] {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]) / 100, Number(fields[12]) / 100];
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

function wrk(port: number, seconds: number, connections: number): { rps: number; requests: number } {
  const r = spawnSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '-H', 'Host: backend', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const m = /Requests\/sec:\s+([0-9.]+)/.exec(r.stdout);
  const n = /(\d+) requests in/.exec(r.stdout);
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  if (errs) process.stderr.write(`  wrk: ${errs[1]} non-2xx responses on port ${port}\n`);
  return { rps: m ? Math.round(Number(m[1])) : NaN, requests: n ? Number(n[1]) : NaN };
}

interface Fixed { p50: number; p99: number; errors: number }
async function fixedRate(loadgen: string, port: number): Promise<Fixed> {
  const c = spawn(process.execPath, [loadgen, String(port), 'backend', String(RATE), String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await firstLine(c);
  return JSON.parse(line) as Fixed;
}

interface Result {
  readonly name: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** CPU (fraction of one core) used by the proxy processes at RATE req/s, summed over both hops. */
  readonly cpuAtRate?: number;
  /** RSS of each proxy process (MiB). */
  readonly rss?: number[];
  /** CPU microseconds per request per proxy process (mean of the hops) during the wrk run. */
  readonly cpuUsPerRequest?: number;
  /** Share of that CPU spent in the kernel (system time). */
  readonly sysShare?: number;
  /** The same at the fixed rate (includes idle wake-ups: higher than under saturation). */
  readonly cpuUsPerRequestAtRate?: number;
}

/** One request (BENCH_DRY=1 checks the setup without load). */
function probe(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = require('node:http').get({ host: '127.0.0.1', port, path: '/', headers: { host: 'backend' } }, (res: import('node:http').IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
  });
}

async function measure(name: string, port: number, loadgen: string, pids: number[]): Promise<Result> {
  if (process.env.BENCH_DRY) {
    const status = await probe(port);
    process.stderr.write(`  dry: ${name}: ${status}\n`);
    return { name, rps: 0, p50: 0, p99: 0, errors: status === 200 ? 0 : 1 };
  }
  wrk(port, 1, 10); // warm-up: connections, TLS sessions, JIT
  const cpu0 = pids.map(cpuSplit);
  const { rps, requests } = wrk(port, SECONDS, CONNECTIONS);
  const cpu1 = pids.map(cpuSplit);
  const wrkSys = pids.reduce((a, _, i) => a + cpu1[i][1] - cpu0[i][1], 0);
  const wrkCpu = pids.reduce((a, _, i) => a + cpu1[i][0] - cpu0[i][0], 0) + wrkSys;
  const before = pids.map(cpuSeconds);
  const t0 = process.hrtime.bigint();
  const f = await fixedRate(loadgen, port);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = pids.length ? pids.map((p, i) => cpuSeconds(p) - before[i]).reduce((a, b) => a + b, 0) / secs : undefined;
  const perHop = (cpuSecs: number, reqs: number): number | undefined => (pids.length ? Math.round((cpuSecs * 1e6) / reqs / pids.length) : undefined);
  const r: Result = {
    name, rps, p50: round(f.p50), p99: round(f.p99), errors: f.errors, cpuAtRate: cpu === undefined ? undefined : round(cpu), rss: pids.length ? pids.map(rssMiB) : undefined,
    cpuUsPerRequest: perHop(wrkCpu, requests), sysShare: pids.length ? round(wrkSys / wrkCpu) : undefined, cpuUsPerRequestAtRate: cpu === undefined ? undefined : perHop(cpu * secs, RATE * SECONDS),
  };
  process.stderr.write(`  ${JSON.stringify(r)}\n`);
  return r;
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

async function main(): Promise<void> {
  for (const bin of ['wrk', 'nginx', 'haproxy']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) throw new Error(`${bin} is missing: apt-get install -y nginx haproxy wrk`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
  // bundles next to node_modules so external packages resolve; fast start, like the image's bundle
  const build = path.join(ROOT, 'node_modules', '.cache', 'weft-bench');
  buildSync({ entryPoints: ['sidecar.ts', 'loadgen.ts', 'naive.ts'].map((f) => path.join(__dirname, f)), outdir: build, bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'error' });
  const sidecarJs = path.join(build, 'sidecar.js');
  const naiveJs = path.join(build, 'naive.js');
  const loadgen = path.join(build, 'loadgen.js');

  // PKI: one CA; leaves carry SPIFFE IDs (weft) and DNS localhost (nginx/haproxy verification)
  const ca = await makeCa('bench root');
  const write = (f: string, s: string): void => fs.writeFileSync(path.join(dir, f), s);
  write('ca.pem', ca.certPem);
  for (const who of ['client', 'server'] as const) {
    const sa = who === 'client' ? 'web' : 'backend';
    const leaf = await makeLeaf(ca, `spiffe://bench.local/ns/default/sa/${sa}`, { dns: ['localhost'] });
    write(`${who}.pem`, leaf.certPem);
    write(`${who}.key`, leaf.keyPem);
    write(`${who}.combined.pem`, `${leaf.certPem.trim()}\n${leaf.keyPem.trim()}\n`);
    const id = path.join(dir, `id-${sa}`);
    fs.mkdirSync(id);
    fs.writeFileSync(path.join(id, 'cert.pem'), leaf.certPem);
    fs.writeFileSync(path.join(id, 'key.pem'), leaf.keyPem);
    fs.writeFileSync(path.join(id, 'ca.pem'), ca.certPem);
  }

  const appPort = await freePort();
  write('app.conf', cfg.nginxApp(dir, appPort));
  start('nginx', ['-c', path.join(dir, 'app.conf')]);
  await waitPort(appPort);
  const results: Result[] = [];
  // the direct case is the baseline of the "added" latency columns: always measured
  results.push(await measure('direct (nginx app)', appPort, loadgen, []));

  if (CASES.has('nginx')) { // nginx two hops
    const [c, s] = [await freePort(), await freePort()];
    write('nserver.conf', cfg.nginxServer(dir, s, appPort));
    write('nclient.conf', cfg.nginxClient(dir, c, s));
    const ps = start('nginx', ['-c', path.join(dir, 'nserver.conf')]);
    const pc = start('nginx', ['-c', path.join(dir, 'nclient.conf')]);
    await Promise.all([waitPort(s), waitPort(c)]);
    results.push(await measure('nginx → mTLS → nginx', c, loadgen, [pc.pid!, ps.pid!]));
    await stop(pc, ps);
  }
  if (CASES.has('haproxy')) { // haproxy two hops
    const [c, s] = [await freePort(), await freePort()];
    write('hserver.cfg', cfg.haproxyServer(dir, s, appPort));
    write('hclient.cfg', cfg.haproxyClient(dir, c, s));
    const ps = start('haproxy', ['-db', '-f', path.join(dir, 'hserver.cfg')]);
    const pc = start('haproxy', ['-db', '-f', path.join(dir, 'hclient.cfg')]);
    await Promise.all([waitPort(s), waitPort(c)]);
    results.push(await measure('haproxy → mTLS → haproxy', c, loadgen, [pc.pid!, ps.pid!]));
    await stop(pc, ps);
  }
  if (CASES.has('naive')) { // the Node yardstick: naive undici proxy, two hops, mTLS between them
    const [c, s] = [await freePort(), await freePort()];
    const ps = start(process.execPath, [naiveJs, 'server', String(s), String(appPort), dir]);
    const pc = start(process.execPath, [naiveJs, 'client', String(c), String(s), dir]);
    await Promise.all([firstLine(ps), firstLine(pc)]);
    results.push(await measure('naive Node (undici) → mTLS → naive Node', c, loadgen, [pc.pid!, ps.pid!]));
    await stop(pc, ps);
  }
  for (const proto of ['http1', 'http2'] as const) { // weft two sidecars
    if (!CASES.has(proto === 'http1' ? 'weft-h1' : 'weft-h2')) continue;
    write('wserver.json', JSON.stringify(cfg.weftServer(path.join(dir, 'id-backend'), appPort)));
    const ps = start(process.execPath, [...NODE_ARGS, sidecarJs, path.join(dir, 'wserver.json'), proto]);
    const server = JSON.parse(await firstLine(ps)) as { inbound: number };
    write('wclient.json', JSON.stringify(cfg.weftClient(path.join(dir, 'id-web'), server.inbound)));
    const pc = start(process.execPath, [...NODE_ARGS, sidecarJs, path.join(dir, 'wclient.json'), proto]);
    const client = JSON.parse(await firstLine(pc)) as { outbound: number };
    results.push(await measure(`weft → mTLS (${proto === 'http1' ? 'pooled HTTP/1.1' : 'HTTP/2'}) → weft`, client.outbound, loadgen, [pc.pid!, ps.pid!]));
    await stop(pc, ps); // SIGTERM and wait: a --cpu-prof profile is written on exit
  }

  const direct = results[0];
  const ref = results.find((r) => r.name.startsWith('nginx'));
  const lines = [
    `# weft proxy benchmark (${new Date().toISOString()})`,
    '',
    `Loopback, ${os.cpus().length} shared cores (other engineers' jobs may run at the same time), ${SECONDS} s per measurement.`,
    `Throughput: wrk -t2 -c${CONNECTIONS}. Latency: open-loop ${RATE} req/s (bench/proxy/loadgen.ts, from scheduled send time).`,
    'CPU: user+system of the proxy processes during the fixed-rate run (both hops summed), as a fraction of one core = CPU per 1,000 req/s.',
    'CPU µs/request: per proxy process (mean of the two hops), during the wrk run (saturated) and at the fixed rate.',
    '',
    '| case | max req/s | × nginx | p50 ms | p99 ms | added p50 ms | added p99 ms | proxy CPU per 1k req/s | CPU µs/req per hop (wrk, fixed rate) | RSS MiB (client, server) | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...results.map((r) => `| ${r.name} | ${r.rps} | ${ref ? (r.rps / ref.rps).toFixed(2) : '–'} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r === direct ? '–' : (r.p50 - direct.p50).toFixed(2)} | ${r === direct ? '–' : (r.p99 - direct.p99).toFixed(2)} | ${r.cpuAtRate === undefined ? '–' : `${(r.cpuAtRate * 100).toFixed(0)} %`} | ${r.cpuUsPerRequest === undefined ? '–' : `${r.cpuUsPerRequest}, ${r.cpuUsPerRequestAtRate}`} | ${r.rss ? r.rss.join(', ') : '–'} | ${r.errors} |`),
  ];
  const md = lines.join('\n') + '\n';
  if (process.env.BENCH_DRY) return;
  fs.writeFileSync(path.join(__dirname, 'results.md'), md);
  fs.writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify({ at: new Date().toISOString(), seconds: SECONDS, rate: RATE, connections: CONNECTIONS, results }, null, 2));
  process.stdout.write(md);
}

main().then(() => cleanup(0), (e: Error) => {
  process.stderr.write(`bench failed: ${e.message}\n`);
  cleanup(1);
});

/** SIGTERM, then wait for the processes to exit (bounded: SIGKILL after 5 s). */
async function stop(...cs: ChildProcess[]): Promise<void> {
  await Promise.all(cs.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    c.kill('SIGTERM');
  })));
}

function cleanup(code: number): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  process.exit(code);
}
