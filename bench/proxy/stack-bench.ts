/**
 * CPU per request of the layer stacks alone, in one process, no sockets: the benchmark's outbound
 * and inbound configs, every default layer, and an endpoint client that answers at once (a body
 * stream that ends on the next tick). Separates the stacks' cost from the protocol legs' on a
 * machine too shared for A/B runs of whole sidecars. Bench-only.
 *   node -r ts-node/register/transpile-only bench/proxy/stack-bench.ts [requests=50000] [concurrency=16]
 */
import 'reflect-metadata';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { parseBootstrap } from '../../api/bootstrap';
import { ConfigCell, parseStaticResources, remapAppPorts } from '../../proxy/config';
import { buildOutboundHandler } from '../../proxy/outbound/stack';
import { buildInboundHandler } from '../../proxy/inbound/stack';
import type { Handler, ProxyRequest } from '../../proxy/stack/types';
import * as cfg from './configs';

const N = Number(process.argv[2] ?? 50_000);
const CONCURRENCY = Number(process.argv[3] ?? 16);

const endpoint = (): Handler => Object.assign(async () => ({ status: 200, headers: { 'content-type': 'text/plain', 'content-length': '2' }, body: Readable.from([Buffer.from('ok')]) }), { close: () => undefined });

function request(authority: string): ProxyRequest {
  return {
    method: 'GET', authority, path: '/', scheme: 'http', httpVersion: '1.1', grpc: false,
    headers: { 'user-agent': 'bench', accept: '*/*' }, body: null,
    peer: { address: '127.0.0.1', port: 1, tls: true, identity: 'spiffe://bench.local/ns/default/sa/web' },
    signal: new AbortController().signal, meta: new Map(),
  };
}

async function run(name: string, handler: Handler, authority: string): Promise<void> {
  const one = async (): Promise<void> => {
    const res = await handler(request(authority));
    if (res.status !== 200) throw new Error(`${name}: status ${res.status} ${JSON.stringify(res.headers)}`);
    if (res.body) for await (const _ of res.body) void _;
  };
  for (let round = 0; round < 3; round++) {
    const t0 = process.cpuUsage();
    let left = N;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await one();
    }));
    const t = process.cpuUsage(t0);
    process.stdout.write(`${name}: ${((t.user + t.system) / N).toFixed(1)} µs CPU per request (round ${round + 1})\n`);
  }
}

async function main(): Promise<void> {
  const client = parseBootstrap(cfg.weftClient('/nonexistent', 1));
  const server = parseBootstrap(cfg.weftServer('/nonexistent', 2));
  const out = buildOutboundHandler(new ConfigCell(parseStaticResources(client.staticResources!)), { endpointClient: endpoint, metrics: new Registry() });
  const inb = buildInboundHandler(new ConfigCell(remapAppPorts(parseStaticResources(server.staticResources!), server.ports.app)), {
    endpointClient: endpoint, metrics: new Registry(), authorize: () => ({ allowed: true, action: 'default_allow' }),
  });
  await run('outbound stack', out, 'backend');
  await run('inbound stack', inb, 'backend');
  const bare = endpoint();
  await run('endpoint only (harness cost)', bare, 'backend');
  out.close();
  inb.close();
}

void main();
