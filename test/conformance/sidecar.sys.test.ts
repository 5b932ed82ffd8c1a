/**
 * The same scenarios with the weft sidecar (proxy/main runProxy, its own ADS client) as the xDS
 * client: the app calls echo through the sidecar's outbound listener; the control plane is a child
 * process (local source over files) that is killed with SIGKILL and restarted.
 */
import * as fs from 'fs';
import { runProxy, RunningProxy } from '../../proxy/main';
import { agent, Backend, httpBackend, run, sidecarBootstrap } from './support/sidecar';
import { CpChild, echoMesh, RDS, scenarioDirs, startCpChild, StatusJson, waitFor, writeEndpoints, writeMesh } from './support/harness';
import { expectBinomial } from '../support/stats';

jest.setTimeout(300_000);

describe('weft sidecar as the xDS client', () => {
  const d = scenarioDirs();
  let backends: Backend[] = [];
  let cp: CpChild | undefined;
  let proxy: RunningProxy | undefined;

  const sidecar = (s: StatusJson) => s.clients.find((c) => c.node.id === 'web-conformance');
  const settled = (s: StatusJson, before?: string) => {
    const c = sidecar(s);
    const rds = c?.types[RDS];
    return rds && !rds.pending && rds.ackedVersion === rds.sentVersion && rds.sentVersion !== before ? rds : undefined;
  };

  beforeAll(async () => {
    backends = await Promise.all([httpBackend('v1'), httpBackend('v2')]);
    writeEndpoints(d.endpointsFile, backends, 'http');
    writeMesh(d.dir, echoMesh({ http: true, weights: { v1: 80, v2: 20 } }));
    cp = await startCpChild(d);
    proxy = await runProxy(await sidecarBootstrap(d.root, cp.port), { log: () => undefined });
    await waitFor('sidecar ready', () => proxy!.notReadyReason() === undefined, 120_000);
  });

  afterAll(async () => {
    await proxy?.shutdown();
    await cp?.kill9();
    agent.destroy();
    await Promise.all(backends.map((b) => new Promise<void>((r) => { b.server.closeAllConnections(); b.server.close(() => r()); })));
    fs.rmSync(d.root, { recursive: true, force: true });
  });

  test('80/20 split, live change to 50/50, version removal without errors', async () => {
    const a = await run(proxy!.ports.outbound, 2000);
    expect(a.samples).toEqual([]);
    expectBinomial('v1 of 2000 (a), expected weight 0.8', a.counts.v1 ?? 0, 2000, 0.8);

    const v0 = settled(await cp!.status())?.sentVersion;
    writeMesh(d.dir, echoMesh({ http: true, weights: { v1: 50, v2: 50 } }));
    await waitFor('50/50 ACKed by the sidecar', async () => settled(await cp!.status(), v0));
    const b = await run(proxy!.ports.outbound, 2000);
    expect(b.samples).toEqual([]);
    expectBinomial('v1 of 2000 (b), expected weight 0.5', b.counts.v1 ?? 0, 2000, 0.5);

    const v1 = settled(await cp!.status())?.sentVersion;
    const during = run(proxy!.ports.outbound, 1500, 10);
    writeMesh(d.dir, echoMesh({ http: true, versions: ['v1'] }));
    await waitFor('v2 removal ACKed', async () => settled(await cp!.status(), v1));
    const c = await during;
    expect(c.samples).toEqual([]);
    expect((await run(proxy!.ports.outbound, 200)).counts).toEqual({ v1: 200 });
    expect((await cp!.status()).nacked).toEqual([]);
  });

  test('control plane killed: requests keep succeeding; restarted: the sidecar reconnects and converges', async () => {
    writeMesh(d.dir, echoMesh({ http: true, weights: { v1: 80, v2: 20 } }));
    const v0 = settled(await cp!.status())?.sentVersion;
    await waitFor('80/20 ACKed', async () => settled(await cp!.status(), v0));
    const port = cp!.port;
    await cp!.kill9();
    const offline = await run(proxy!.ports.outbound, 1000);
    expect(offline.samples).toEqual([]);
    expectBinomial('v1 of 1000 (offline), expected weight 0.8', offline.counts.v1 ?? 0, 1000, 0.8);

    writeMesh(d.dir, echoMesh({ http: true, weights: { v1: 20, v2: 80 } }));
    cp = await startCpChild(d, port);
    await waitFor('sidecar reconnected and settled', async () => settled(await cp!.status()), 120_000);
    const r = await run(proxy!.ports.outbound, 2000);
    expect(r.samples).toEqual([]);
    expectBinomial('v1 of 2000 (r), expected weight 0.2', r.counts.v1 ?? 0, 2000, 0.2);
  });
});
