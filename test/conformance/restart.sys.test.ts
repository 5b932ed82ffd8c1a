/**
 * Control-plane loss and restart with an UNMODIFIED grpc-js-xds client: the control plane runs as
 * a child process and is killed with SIGKILL; RPCs keep working on cached config; a restarted
 * control plane (same port) is reconnected to, serves the same content versions, and a change made
 * meanwhile is converged on.
 */
import { rmSync } from 'fs';
import { EchoBackend, startEchoBackend } from './support/echo';
import { CpChild, echoMesh, RDS, scenarioDirs, startCpChild, startXdsClient, StatusJson, waitFor, writeEndpoints, writeMesh, XdsClientChild } from './support/harness';
import { expectBinomial } from '../support/stats';

jest.setTimeout(300_000);

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';

describe('control plane killed and restarted', () => {
  const d = scenarioDirs();
  let backends: EchoBackend[] = [];
  let cp: CpChild | undefined;
  let client: XdsClientChild;

  /** The client once all four types are subscribed and answered (ACKed) on its current stream. */
  const settledClient = (s: StatusJson) => {
    const c = s.clients[0];
    const types = [LDS, RDS, CDS, EDS].map((t) => c?.types[t]);
    return types.every((x) => x && !x.pending && x.sentVersion !== undefined && x.ackedVersion === x.sentVersion) ? c : undefined;
  };

  beforeAll(async () => {
    backends = await Promise.all([startEchoBackend('v1'), startEchoBackend('v2')]);
    writeEndpoints(d.endpointsFile, backends);
    writeMesh(d.dir, echoMesh({ weights: { v1: 80, v2: 20 } }));
    cp = await startCpChild(d);
    client = await startXdsClient(cp.port, 'conformance-restart');
  });

  afterAll(async () => {
    await client?.close();
    await cp?.kill9();
    await Promise.all(backends.map((b) => b.close()));
    rmSync(d.root, { recursive: true, force: true });
  });

  test('kill -9: RPCs keep succeeding; restart: reconnect, same versions, converge on a new change', async () => {
    // The first RPC waits for the whole xDS handshake (slow on a busy machine): a long deadline for it alone.
    expect((await client.run({ n: 1, concurrency: 1, deadlineMs: 30_000 })).errors).toEqual({});
    const warm = await client.run({ n: 300, concurrency: 10 });
    expect(warm.errors).toEqual({});
    const first = await waitFor('client settled', async () => settledClient(await cp!.status()));
    const cdsVersion = first.types[CDS].ackedVersion;
    expect(cdsVersion).toBeDefined();
    const port = cp!.port;

    await cp!.kill9();
    const offline = await client.run({ n: 1000, concurrency: 20 });
    expect(offline.errors).toEqual({});
    expectBinomial('v1 of 1000 (offline), expected weight 0.8', offline.counts.v1 ?? 0, 1000, 0.8);

    // Change while the control plane is down; the restarted one must serve it.
    writeMesh(d.dir, echoMesh({ weights: { v1: 20, v2: 80 } }));
    cp = await startCpChild(d, port);
    expect(cp.port).toBe(port);
    const again = await waitFor('client reconnected and settled', async () => settledClient(await cp!.status()), 120_000);
    // Content-hash versions: unchanged clusters keep their version across the restart.
    expect(again.types[CDS].ackedVersion).toBe(cdsVersion);
    const r = await client.run({ n: 2000, concurrency: 20 });
    expect(r.errors).toEqual({});
    expectBinomial('v1 of 2000 (r), expected weight 0.2', r.counts.v1 ?? 0, 2000, 0.2);
  });
});
