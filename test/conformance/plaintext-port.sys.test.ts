/**
 * The unmodified @grpc/grpc-js-xds client can only dial the control plane with insecure credentials:
 * with ADS on TLS (runControlPlane with its CA), `--xds-plaintext-port` still serves it, while
 * the same client pointed at the TLS port gets no config.
 */
import { rmSync } from 'fs';
import { optionsFromFlags, runControlPlane, type RunningControlPlane } from '../../control-plane/main';
import { EchoBackend, startEchoBackend } from './support/echo';
import { echoMesh, scenarioDirs, startXdsClient, waitFor, writeEndpoints, writeMesh, XdsClientChild } from './support/harness';

jest.setTimeout(300_000);

const d = scenarioDirs();
let backends: EchoBackend[] = [];
let running: RunningControlPlane;
const clients: XdsClientChild[] = [];

beforeAll(async () => {
  backends = await Promise.all([startEchoBackend('v1'), startEchoBackend('v2')]);
  writeEndpoints(d.endpointsFile, backends);
  writeMesh(d.dir, echoMesh({ weights: { v1: 100, v2: 0 } }));
  running = await runControlPlane(optionsFromFlags({
    source: 'local', dist: d.dir, endpoints: d.endpointsFile, port: '0', statusPort: '0', caPort: '0', xdsPlaintextPort: '0', stateDir: d.root,
  }), () => undefined);
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await running?.stop();
  await Promise.all(backends.map((b) => b.close()));
  rmSync(d.root, { recursive: true, force: true });
});

test('grpc-js-xds gets its config from --xds-plaintext-port while --port is TLS', async () => {
  expect(running.xdsTls).toBe(true);
  const client = await startXdsClient(running.xdsPlaintextPort!, 'proxyless-plain');
  clients.push(client);
  expect((await client.run({ n: 1, concurrency: 1, deadlineMs: 30_000 })).errors).toEqual({});
  const r = await client.run({ n: 100, concurrency: 10 });
  expect(r.errors).toEqual({});
  expect(r.counts.v1).toBe(100);
  expect(running.controlPlane.status.clients().find((c) => c.node.id === 'proxyless-plain')?.node.kind).toBe('proxyless');
});

test('the same client pointed at the TLS port gets no config (its RPCs fail, no node connects)', async () => {
  const client = await startXdsClient(running.xdsPort, 'proxyless-on-tls');
  clients.push(client);
  const r = await client.run({ n: 1, concurrency: 1, deadlineMs: 2000 });
  expect(r.counts.v1 ?? 0).toBe(0);
  expect(Object.values(r.errors).reduce((a, b) => a + b, 0)).toBe(1);
  await waitFor('the plaintext client still connected', () => running.controlPlane.status.clients().some((c) => c.node.id === 'proxyless-plain'));
  expect(running.controlPlane.status.clients().some((c) => c.node.id === 'proxyless-on-tls')).toBe(false);
});
