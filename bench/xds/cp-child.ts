/**
 * Benchmark child: the real ADS server + snapshot cache + buildModel in its own process, so its
 * CPU and memory are measured apart from the simulated clients. Driven over IPC.
 */
import { writeFileSync } from 'fs';
import { Session } from 'inspector';
import { writeHeapSnapshot } from 'v8';
import { buildModel } from '../../api/build-model';
import { AdsServer } from '../../control-plane/xds/ads-server';
import { SnapshotCache } from '../../control-plane/xds/cache';
import { translate } from '../../api/translate';

// Per change: time in translate and in the first snapshot build (cache.get of a new generation).
let translateMs = 0;
let snapshotMs = 0;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const cache = new SnapshotCache((model, client) => { const t0 = process.hrtime.bigint(); const x = translate(model, client); translateMs += ms(t0); return x; });
const get = cache.get.bind(cache);
let rendered = -1;
cache.get = (client) => {
  if (rendered === cache.generation) return get(client);
  rendered = cache.generation;
  const t0 = process.hrtime.bigint();
  const before = translateMs;
  const snap = get(client);
  snapshotMs += ms(t0) - (translateMs - before);
  return snap;
};
// argv[2]: maxBytesInFlight in bytes (the server's default when absent).
const budget = Number(process.argv[2] ?? 0);
const server = new AdsServer({ cache, ...(budget ? { maxBytesInFlight: budget } : {}) });
const profiler = new Session();
// Peak RSS between two 'stats' requests (sampled every 50 ms).
let peakRss = 0;
setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 50).unref();

process.on('message', (m: { cmd: string; resources?: never[]; endpoints?: never[]; file?: string }) => {
  if (m.cmd === 'model') {
    const t0 = process.hrtime.bigint();
    const { model, statuses } = buildModel(m.resources ?? [], m.endpoints ?? []);
    const buildModelMs = ms(t0);
    translateMs = 0;
    snapshotMs = 0;
    cache.setModel(model);
    process.send!({ cmd: 'model', buildMs: ms(t0), buildModelMs, translateMs, snapshotMs, rejected: statuses.filter((s) => !s.accepted).length });
  } else if (m.cmd === 'stats') {
    const mem = process.memoryUsage();
    process.send!({ cmd: 'stats', cpu: process.cpuUsage(), mem, peakRss: Math.max(peakRss, mem.rss) });
    peakRss = 0;
  } else if (m.cmd === 'profile-start') {
    profiler.connect();
    profiler.post('Profiler.enable', () => profiler.post('Profiler.start', () => process.send!({ cmd: 'profile-start' })));
  } else if (m.cmd === 'profile-stop') {
    profiler.post('Profiler.stop', (err, r) => {
      if (!err) writeFileSync(m.file!, JSON.stringify(r.profile));
      profiler.disconnect();
      process.send!({ cmd: 'profile-stop' });
    });
  } else if (m.cmd === 'heap') {
    process.send!({ cmd: 'heap', file: writeHeapSnapshot(m.file) });
  } else if (m.cmd === 'exit') {
    server.close(100).then(() => process.exit(0));
  }
});

server.listen(0).then((port) => process.send!({ cmd: 'ready', port }));
