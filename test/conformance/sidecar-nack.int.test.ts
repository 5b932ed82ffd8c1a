/**
 * The NACK scenario with the weft sidecar as the xDS client: an invalid push (weights rendered as 0
 * through the control plane's render seam) is NACKed by the sidecar's parser, the ledger keeps its
 * text, nothing is resent, and traffic stays on the last good split until a good push.
 */
import * as fs from 'fs';
import type { MeshModel } from '../../api/model';
import { ClientKind, translate, XdsResources } from '../../api/translate';
import { LocalSource } from '../../control-plane/sources/local';
import { ControlPlane, startControlPlane } from '../../control-plane/server';
import { runProxy, RunningProxy } from '../../proxy/main';
import { echoMesh, RDS, scenarioDirs, waitFor, writeEndpoints, writeMesh } from './support/harness';
import { expectBinomial } from '../support/stats';
import { agent, Backend, httpBackend, run, sidecarBootstrap } from './support/sidecar';

jest.setTimeout(300_000);

describe('weft sidecar NACK', () => {
  const d = scenarioDirs();
  let backends: Backend[] = [];
  let cp: ControlPlane;
  let proxy: RunningProxy | undefined;
  let corrupt = false;
  const render = (m: MeshModel, c: ClientKind): XdsResources => {
    const x = translate(m, c);
    return corrupt ? { ...x, routes: JSON.parse(JSON.stringify(x.routes).replace(/"weight":\{"value":\d+\}/g, '"weight":{"value":0}')) } : x;
  };
  const rds = () => cp.status.clients().find((c) => c.node.id === 'web-conformance')?.types[RDS];

  beforeAll(async () => {
    backends = await Promise.all([httpBackend('v1'), httpBackend('v2')]);
    writeEndpoints(d.endpointsFile, backends, 'http');
    writeMesh(d.dir, echoMesh({ http: true, weights: { v1: 50, v2: 50 } }));
    cp = await startControlPlane({ source: new LocalSource({ dir: d.dir, endpointsFile: d.endpointsFile, statusFile: d.statusFile, debounceMs: 20 }), port: 0, render });
    proxy = await runProxy(await sidecarBootstrap(d.root, cp.port), { log: () => undefined });
    await waitFor('sidecar ready', () => proxy!.notReadyReason() === undefined, 120_000);
  });

  afterAll(async () => {
    await proxy?.shutdown();
    await cp?.stop();
    agent.destroy();
    await Promise.all(backends.map((b) => new Promise<void>((r) => { b.server.closeAllConnections(); b.server.close(() => r()); })));
    fs.rmSync(d.root, { recursive: true, force: true });
  });

  test('invalid push NACKed with its text; last good split keeps serving; a good push recovers', async () => {
    const good = await waitFor('RDS ACKed', () => { const s = rds(); return s && !s.pending && s.ackedVersion === s.sentVersion ? s : undefined; });
    corrupt = true;
    writeMesh(d.dir, echoMesh({ http: true, weights: { v1: 30, v2: 70 } }));
    const nack = await waitFor('RDS NACK in the ledger', () => cp.status.nacked().find((e) => e.typeUrl === RDS && e.nodeId === 'web-conformance'));
    expect(nack.error).toMatch(/sum of weights is 0/);
    expect(rds()!.ackedVersion).toBe(good.ackedVersion);
    const sent = rds()!.sentVersion;
    const r = await run(proxy!.ports.outbound, 1000);
    expect(r.samples).toEqual([]);
    expectBinomial('v1 of 1000 (r), expected weight 0.5', r.counts.v1 ?? 0, 1000, 0.5);
    expect(rds()!.sentVersion).toBe(sent); // not resent
    corrupt = false;
    writeMesh(d.dir, echoMesh({ http: true, weights: { v1: 70, v2: 30 } }));
    await waitFor('good push ACKed', () => { const s = rds(); return s && !s.pending && s.ackedVersion === s.sentVersion && s.sentVersion !== sent ? s : undefined; });
    expect(cp.status.nacked()).toEqual([]);
    const after = await run(proxy!.ports.outbound, 1000);
    expectBinomial('v1 of 1000 (after), expected weight 0.7', after.counts.v1 ?? 0, 1000, 0.7);
  });
});
