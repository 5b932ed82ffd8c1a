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

const cache = new SnapshotCache();
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
    cache.setModel(model);
    process.send!({ cmd: 'model', buildMs: Number(process.hrtime.bigint() - t0) / 1e6, rejected: statuses.filter((s) => !s.accepted).length });
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
