/**
 * Benchmark child: the real ADS server + snapshot cache + buildModel in its own process, so its
 * CPU and memory are measured apart from the simulated clients. Driven over IPC.
 */
import { buildModel } from '../../api/build-model';
import { AdsServer } from '../../control-plane/xds/ads-server';
import { SnapshotCache } from '../../control-plane/xds/cache';

const cache = new SnapshotCache();
const server = new AdsServer({ cache });

process.on('message', (m: { cmd: string; resources?: never[]; endpoints?: never[] }) => {
  if (m.cmd === 'model') {
    const t0 = process.hrtime.bigint();
    const { model, statuses } = buildModel(m.resources ?? [], m.endpoints ?? []);
    cache.setModel(model);
    process.send!({ cmd: 'model', buildMs: Number(process.hrtime.bigint() - t0) / 1e6, rejected: statuses.filter((s) => !s.accepted).length });
  } else if (m.cmd === 'stats') {
    process.send!({ cmd: 'stats', cpu: process.cpuUsage(), mem: process.memoryUsage() });
  } else if (m.cmd === 'exit') {
    server.close(100).then(() => process.exit(0));
  }
});

server.listen(0).then((port) => process.send!({ cmd: 'ready', port }));
