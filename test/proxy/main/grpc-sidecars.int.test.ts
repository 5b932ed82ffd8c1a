/** gRPC through two sidecars: h2c from the app, HTTP/2 over mTLS between sidecars, h2c to the app; trailers and status survive. */
import * as grpc from '@grpc/grpc-js';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import type { Bootstrap } from '../../../api/bootstrap';
import { clientBootstrap, identityDir, makeCa, serverBootstrap } from './fixtures';

const svc: grpc.ServiceDefinition = {
  Say: {
    path: '/test.Greeter/Say', requestStream: false, responseStream: false,
    requestSerialize: (v: Buffer) => v, requestDeserialize: (b: Buffer) => b,
    responseSerialize: (v: Buffer) => v, responseDeserialize: (b: Buffer) => b,
  },
};

let server: grpc.Server;
const proxies: RunningProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.shutdown();
  server.forceShutdown();
});

test('gRPC unary with trailing metadata and a non-OK status through web sidecar → mTLS → backend sidecar', async () => {
  server = new grpc.Server();
  server.addService(svc, {
    Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      if (String(call.request) === 'bad') return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'no way' });
      const md = new grpc.Metadata();
      md.set('x-served-by', 'backend');
      cb(null, Buffer.from(`hi ${call.request}`), md);
    },
  });
  const appPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const ca = await makeCa();
  const sb = serverBootstrap(appPort, await identityDir(ca, 'backend'));
  // the local app speaks HTTP/2 (h2c)
  const clusters = (sb.staticResources!.clusters as Record<string, unknown>[]).map((c) => ({ ...c, http2_protocol_options: {} }));
  const backend = await runProxy({ ...sb, staticResources: { ...sb.staticResources, clusters } } as Bootstrap, { log: () => undefined });
  proxies.push(backend);
  const web = await runProxy(clientBootstrap(backend.ports.inbound, await identityDir(ca, 'web')), { log: () => undefined });
  proxies.push(web);

  const client = new grpc.Client(`127.0.0.1:${web.ports.outbound}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'backend' });
  const call = (msg: string) => new Promise<{ err: grpc.ServiceError | null; value?: string; trailers?: grpc.Metadata }>((resolve) => {
    let result: { err: grpc.ServiceError | null; value?: string } | undefined;
    let trailers: grpc.Metadata | undefined;
    const settle = () => result && trailers && resolve({ ...result, trailers });
    const c = client.makeUnaryRequest('/test.Greeter/Say', (v: Buffer) => v, (b: Buffer) => b, Buffer.from(msg), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, value) => {
      result = { err, value: value?.toString() };
      settle();
    });
    c.on('status', (s) => {
      trailers = s.metadata;
      settle();
    });
  });
  const ok = await call('there');
  expect(ok.err).toBeNull();
  expect(ok.value).toBe('hi there');
  expect(ok.trailers?.get('x-served-by')).toEqual(['backend']);
  const bad = await call('bad');
  expect(bad.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
  expect(bad.err?.details).toBe('no way');
  client.close();
});
