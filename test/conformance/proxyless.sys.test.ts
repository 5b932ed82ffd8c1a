/**
 * Conformance with an UNMODIFIED @grpc/grpc-js-xds 1.14.1 client (child process) against the real
 * control plane (local source → buildModel → translate → ADS): weighted split, live change on the
 * same stream, NACK with traffic on the last good config, and removal of a referenced cluster.
 */
import { LocalSource } from '../../control-plane/sources/local';
import { ControlPlane, startControlPlane } from '../../control-plane/server';
import { translate, XdsResources } from '../../api/translate';
import type { MeshModel } from '../../api/model';
import type { ClientKind } from '../../api/translate';
import { rmSync } from 'fs';
import { EchoBackend, startEchoBackend } from './support/echo';
import { echoMesh, LDS, RDS, scenarioDirs, startXdsClient, waitFor, writeEndpoints, writeMesh, XdsClientChild } from './support/harness';
import { expectBinomial } from '../support/stats';

jest.setTimeout(300_000);

describe('proxyless grpc-js-xds client', () => {
  const d = scenarioDirs();
  let backends: EchoBackend[] = [];
  let cp: ControlPlane;
  let client: XdsClientChild;
  // Test seam: when set, every weighted cluster weight is rendered as 0 (grpc-js NACKs that).
  let corrupt = false;
  const render = (m: MeshModel, c: ClientKind): XdsResources => {
    const x = translate(m, c);
    if (!corrupt) return x;
    const json = JSON.stringify(x.routes).replace(/"weight":\{"value":\d+\}/g, '"weight":{"value":0}');
    return { ...x, routes: JSON.parse(json) };
  };

  const rdsState = () => cp.status.clients().find((c) => c.node.kind === 'proxyless')?.types[RDS];
  /** Waits until the client answered an RDS response newer than `before`. */
  const rdsSettled = (before: string | undefined) => waitFor('RDS answered', () => {
    const s = rdsState();
    return s && !s.pending && s.sentVersion !== before ? s : undefined;
  });

  beforeAll(async () => {
    backends = await Promise.all([startEchoBackend('v1'), startEchoBackend('v2')]);
    writeEndpoints(d.endpointsFile, backends);
    writeMesh(d.dir, echoMesh({ weights: { v1: 80, v2: 20 } }));
    cp = await startControlPlane({ source: new LocalSource({ dir: d.dir, endpointsFile: d.endpointsFile, statusFile: d.statusFile, debounceMs: 20 }), port: 0, render });
    client = await startXdsClient(cp.port, 'conformance-proxyless');
  });

  afterAll(async () => {
    await client?.close();
    await cp?.stop();
    await Promise.all(backends.map((b) => b.close()));
    rmSync(d.root, { recursive: true, force: true });
  });

  test('80/20 weighted split within the exact binomial band (1e-6) over 2000 RPCs', async () => {
    // The first RPC waits for the whole xDS handshake (slow on a busy machine): a long deadline for it alone.
    expect((await client.run({ n: 1, concurrency: 1, deadlineMs: 30_000 })).errors).toEqual({});
    const r = await client.run({ n: 2000, concurrency: 20 });
    expect(r.errors).toEqual({});
    expect((r.counts.v1 ?? 0) + (r.counts.v2 ?? 0)).toBe(2000);
    expectBinomial('v1 of 2000 (r), expected weight 0.8', r.counts.v1 ?? 0, 2000, 0.8);
    expect(cp.status.nacked()).toEqual([]);
  });

  test('a live change to 50/50 is followed on the same stream', async () => {
    const before = cp.status.clients().filter((c) => c.node.kind === 'proxyless');
    expect(before).toHaveLength(1);
    const v0 = rdsState()?.sentVersion;
    writeMesh(d.dir, echoMesh({ weights: { v1: 50, v2: 50 } }));
    const s = await rdsSettled(v0);
    expect(s.ackedVersion).toBe(s.sentVersion);
    const r = await client.run({ n: 2000, concurrency: 20 });
    expect(r.errors).toEqual({});
    expectBinomial('v1 of 2000 (r), expected weight 0.5', r.counts.v1 ?? 0, 2000, 0.5);
    const after = cp.status.clients().filter((c) => c.node.kind === 'proxyless');
    expect(after.map((c) => c.node.streamId)).toEqual(before.map((c) => c.node.streamId));
  });

  test('an invalid push is NACKed, recorded with its text, and traffic stays on the last good config', async () => {
    const good = rdsState()!;
    corrupt = true;
    writeMesh(d.dir, echoMesh({ weights: { v1: 30, v2: 70 } }));
    const nack = await waitFor('RDS NACK in the ledger', () => cp.status.nacked().find((e) => e.typeUrl === RDS));
    expect(nack.error).toMatch(/sum of weights is 0/);
    expect(cp.status.recentNacks().some((n) => n.typeUrl === RDS && /sum of weights is 0/.test(n.error))).toBe(true);
    const s = rdsState()!;
    expect(s.ackedVersion).toBe(good.ackedVersion);
    expect(s.lastError).toMatch(/sum of weights is 0/);
    const r = await client.run({ n: 1000, concurrency: 20 });
    expect(r.errors).toEqual({});
    expectBinomial('v1 of 1000 (r), expected weight 0.5', r.counts.v1 ?? 0, 1000, 0.5);
    // No resend loop: the NACKed content is not pushed again.
    const sent = rdsState()!.sentVersion;
    await client.run({ n: 50, concurrency: 5 });
    expect(rdsState()!.sentVersion).toBe(sent);
    expect(rdsState()!.pending).toBe(false);
    // A good push clears it.
    corrupt = false;
    writeMesh(d.dir, echoMesh({ weights: { v1: 70, v2: 30 } }));
    await waitFor('RDS ACKed after the fix', () => { const x = rdsState(); return x && !x.pending && x.ackedVersion === x.sentVersion && x.sentVersion !== sent; });
    expect(cp.status.nacked()).toEqual([]);
  });

  test('removing a version that a route still references never breaks RPCs (make-before-break)', async () => {
    const running = client.run({ durationMs: 2500, concurrency: 10, deadlineMs: 3000 });
    const v0 = rdsState()?.sentVersion;
    writeMesh(d.dir, echoMesh({ versions: ['v1'] }));
    await rdsSettled(v0);
    const during = await running;
    expect(during.errors).toEqual({});
    const r = await client.run({ n: 300, concurrency: 10 });
    expect(r.errors).toEqual({});
    expect(r.counts).toEqual({ v1: 300 });
    expect(cp.status.nacked()).toEqual([]);
  });

  test('a service deleted and re-added byte-identical is served again (grpc-js-xds 1.14.1 re-add bug)', async () => {
    const ldsState = () => cp.status.clients().find((c) => c.node.kind === 'proxyless')?.types[LDS];
    const settledLds = (before: string | undefined) => waitFor('LDS answered', () => {
      const s = ldsState();
      return s && !s.pending && s.ackedVersion === s.sentVersion && s.sentVersion !== before ? s : undefined;
    });
    const other = { apiVersion: 'weft.dev/v1alpha1', kind: 'MeshService', metadata: { name: 'other', namespace: 'default' }, spec: { serviceAccount: 'other', interception: 'explicit', ports: [{ name: 'http', port: 80, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }] } };
    const v0 = ldsState()?.sentVersion;
    writeMesh(d.dir, [other]);
    const gone = await settledLds(v0);
    const down = await client.run({ n: 10, concurrency: 5, deadlineMs: 1500 });
    expect(Object.keys(down.errors).length).toBeGreaterThan(0);
    writeMesh(d.dir, [...echoMesh({ versions: ['v1'] }), other]);
    await settledLds(gone.sentVersion);
    // RPCs fail fast while the channel leaves TRANSIENT_FAILURE; with the bug it never would.
    await waitFor('echo served again', async () => (await client.run({ n: 1, concurrency: 1, deadlineMs: 2000 })).counts.v1 === 1, 120_000);
    const back = await client.run({ n: 200, concurrency: 10 });
    expect(back.errors).toEqual({});
    expect(back.counts).toEqual({ v1: 200 });
  });
});
