/**
 * xDS benchmark: N simulated sidecars on the real ADS server (child process), one CanaryRoute
 * change, time until every client has ACKed the new route config (p50/p99/max), and the control
 * plane's CPU time and memory. Run:
 *   npx ts-node --transpile-only bench/xds/ads-bench.ts --clients 1000 --services 10 --endpoints 100
 *   npx ts-node --transpile-only bench/xds/ads-bench.ts --clients 1000 --services 1000 --endpoints 10000
 * Clients share `--channels` HTTP/2 connections (default 100), as many sidecars behind few nodes would not; it keeps the
 * benchmark host's own cost down. By default the simulated clients speak gRPC over Node's HTTP/2
 * directly (sim-client-h2.ts: responses scanned as they stream in); `--sim grpc` uses grpc-js clients
 * (sim-client.ts). The clients' CPU (this process) is reported apart from the control
 * plane's. `--cp-prof <dir>` writes a CPU profile of the control-plane child, `--cp-prof-change <file>`
 * one of the change phase only; `--cp-node-args "<flags>"` passes node/V8 flags to it (`--client-prof-change <file>`: the same for the simulated clients); `--cp-heap <file>` a heap snapshot of it after the change.
 */
import * as grpc from '@grpc/grpc-js';
import { fork } from 'child_process';
import { writeFileSync } from 'fs';
import { buildSync } from 'esbuild';
import { Session } from 'inspector';
import * as path from 'path';
import * as http2 from 'http2';
import { SimClient } from './sim-client';
import { SimClientH2 } from './sim-client-h2';
import { benchMesh } from './mesh';

/** A raw HTTP/2 session to the control plane (default settings, as grpc-js uses without options). */
function h2session(port: number): http2.ClientHttp2Session {
  const s = http2.connect(`http://127.0.0.1:${port}`, WINDOW ? { settings: { initialWindowSize: WINDOW } } : {});
  s.on('error', () => undefined);
  if (WINDOW) s.on('connect', () => s.setLocalWindowSize(WINDOW));
  return s;
}

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const CLIENTS = arg('clients', 1000);
const SERVICES = arg('services', 10);
const ENDPOINTS = arg('endpoints', 100);
const CHANNELS = arg('channels', 100);
// HTTP/2 receive window of the client channels (grpc-node.flow_control_window); 0 = grpc-js's default (64 KiB).
const WINDOW = arg('window', 0);
// The control plane's maxBytesInFlight; 0 = its default (8 MiB).
const BUDGET = arg('budget', 0);
const strArg = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const CP_PROF = strArg('cp-prof');
const CP_HEAP = strArg('cp-heap');
const CP_PROF_CHANGE = strArg('cp-prof-change');
const CLIENT_PROF_CHANGE = strArg('client-prof-change');
const session = new Session();
const post = (method: string) => new Promise<unknown>((resolve, reject) => session.post(method, (err, r) => (err ? reject(err) : resolve(r))));

const mesh = (canaryWeight: number) => benchMesh(SERVICES, ENDPOINTS, canaryWeight);

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  // The control plane runs as an esbuild bundle, as in the OCI image (ts-node alone adds ~95 MiB of
  // RSS); `--ts-node` runs the TypeScript source instead.
  const useTsNode = process.argv.includes('--ts-node');
  const execArgv = [...(strArg('cp-node-args')?.split(' ').filter(Boolean) ?? []), ...(CP_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CP_PROF}`] : []), ...(useTsNode ? ['-r', 'ts-node/register/transpile-only'] : [])];
  let entry = path.join(__dirname, 'cp-child.ts');
  if (!useTsNode) {
    const out = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'weft-bench-xds');
    buildSync({ entryPoints: [entry], outdir: out, bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'error' });
    entry = path.join(out, 'cp-child.js');
  }
  const child = fork(entry, BUDGET ? [String(BUDGET)] : [], { execArgv });
  const next = (cmd: string) => new Promise<Record<string, unknown>>((resolve) => {
    const on = (m: Record<string, unknown>) => { if (m.cmd === cmd) { child.off('message', on); resolve(m); } };
    child.on('message', on);
  });
  const ready = await next('ready');
  const built1 = next('model');
  child.send({ cmd: 'model', ...mesh(10) });
  const b1 = await built1;
  const base = await (async () => { const s = next('stats'); child.send({ cmd: 'stats' }); return s; })();
  const useGrpc = strArg('sim') === 'grpc';
  const channels = Array.from({ length: CHANNELS }, () => (useGrpc
    ? new grpc.Client(`127.0.0.1:${ready.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, ...(WINDOW ? { 'grpc-node.flow_control_window': WINDOW } : {}) })
    : h2session(Number(ready.port))));
  const t0 = Date.now();
  const clientCpu0 = process.cpuUsage();
  const clients: Array<SimClient | SimClientH2> = Array.from({ length: CLIENTS }, (_, i) => {
    const ch = channels[i % CHANNELS];
    return ch instanceof grpc.Client ? new SimClient(ch, `sim-${i}`, 'client') : new SimClientH2(ch, `sim-${i}`, 'client');
  });
  const all = () => clients.every((c) => c.received.size === 4 && c.rdsAcks.size > 0);
  while (!all()) await new Promise((r) => setTimeout(r, 20));
  const connectMs = Date.now() - t0;
  const clientCpu1 = process.cpuUsage();
  const before = await (async () => { const s = next('stats'); child.send({ cmd: 'stats' }); return s; })();

  const versionsBefore = clients.map((c) => new Set(c.rdsAcks.keys()));
  const built2 = next('model');
  // Each client reports its first ACK of a new RDS version (no polling: 1,000 clients × 5 ms loops cost CPU here).
  const firstAck: number[] = [];
  let ackedCount = 0;
  const allAcked = new Promise<void>((resolve) => clients.forEach((c, i) => {
    c.onRdsAck = (v, at) => {
      if (versionsBefore[i].has(v) || firstAck[i] !== undefined) return;
      firstAck[i] = at;
      if (++ackedCount === CLIENTS) resolve();
    };
  }));
  if (CP_PROF_CHANGE) { const p = next('profile-start'); child.send({ cmd: 'profile-start' }); await p; }
  if (CLIENT_PROF_CHANGE) { session.connect(); await post('Profiler.enable'); await post('Profiler.start'); }
  const tChange = Date.now();
  child.send({ cmd: 'model', ...mesh(50) });
  const b2 = await built2;
  await allAcked;
  const lat = firstAck.map((t) => t - tChange).sort((a, b) => a - b);
  const clientCpu2 = process.cpuUsage();
  if (CLIENT_PROF_CHANGE) writeFileSync(CLIENT_PROF_CHANGE, JSON.stringify(((await post('Profiler.stop')) as { profile: unknown }).profile));
  if (CP_PROF_CHANGE) { const p = next('profile-stop'); child.send({ cmd: 'profile-stop', file: CP_PROF_CHANGE }); await p; }
  const after = await (async () => { const s = next('stats'); child.send({ cmd: 'stats' }); return s; })();
  const cpu = (s: Record<string, unknown>) => { const c = s.cpu as { user: number; system: number }; return (c.user + c.system) / 1000; };
  const mem = (s: Record<string, unknown>) => Math.round((s.mem as { rss: number }).rss / 1048576);
  const peak = (s: Record<string, unknown>) => Math.round((s.peakRss as number) / 1048576);
  const ms = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => Math.round((b.user + b.system - a.user - a.system) / 1000);
  console.log(JSON.stringify({
    clients: CLIENTS, sim: useGrpc ? 'grpc-js' : 'raw http2', services: SERVICES, endpoints: ENDPOINTS, channels: CHANNELS, window: WINDOW || 'default', budget: BUDGET || 'default', cpRuntime: useTsNode ? 'ts-node' : 'esbuild bundle',
    initialBuildMs: Math.round(b1.buildMs as number), rejectedResources: b1.rejected, connectAllMs: connectMs,
    // buildModel + setModel, which synchronously renders and queues the response on every stream.
    changeBuildAndPushMs: Math.round(b2.buildMs as number),
    // Parts of it: buildModel, translate (first client of the generation), buildSnapshot (the rest of that first render).
    changeParts: { buildModelMs: Math.round(b2.buildModelMs as number), translateMs: Math.round(b2.translateMs as number), buildSnapshotMs: Math.round(b2.snapshotMs as number) },
    ackMs: { p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1] },
    cpCpuMs: { connect: Math.round(cpu(before) - cpu(base)), change: Math.round(cpu(after) - cpu(before)) },
    cpHeapMiB: { afterConnect: Math.round((before.mem as { heapUsed: number }).heapUsed / 1048576), afterChange: Math.round((after.mem as { heapUsed: number }).heapUsed / 1048576) },
    cpRssMiB: { idle: mem(base), afterConnect: mem(before), afterChange: mem(after), peakConnect: peak(before), peakChange: peak(after) },
    // The simulated clients (this process): gRPC, HTTP/2, envelope scan, ACKs.
    clientCpuMs: { connect: ms(clientCpu0, clientCpu1), change: ms(clientCpu1, clientCpu2) },
    bytesPerClient: Math.round(clients.reduce((n, c) => n + c.bytes, 0) / CLIENTS),
  }, null, 2));
  if (CP_HEAP) { const h = next('heap'); child.send({ cmd: 'heap', file: CP_HEAP }); await h; }
  for (const c of clients) c.close();
  for (const ch of channels) ch.close();
  child.send({ cmd: 'exit' });
}

main().catch((e) => { console.error(e); process.exit(1); });
