/** HTTP/2 and gRPC through the proxy: h2c prior knowledge, trailers, grpc-timeout, upstream resets. */
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { ProxyServer } from '../../../proxy/http/server';
import { H2Endpoint } from '../../../proxy/http/client-h2';
import { closeServer, h2get, listen } from './util';

const echoService: grpc.ServiceDefinition = {
  unary: {
    path: '/test.Echo/Unary', requestStream: false, responseStream: false,
    requestSerialize: (v: Buffer) => v, requestDeserialize: (b: Buffer) => b,
    responseSerialize: (v: Buffer) => v, responseDeserialize: (b: Buffer) => b,
  },
  stream: {
    path: '/test.Echo/Stream', requestStream: true, responseStream: true,
    requestSerialize: (v: Buffer) => v, requestDeserialize: (b: Buffer) => b,
    responseSerialize: (v: Buffer) => v, responseDeserialize: (b: Buffer) => b,
  },
};

let grpcServer: grpc.Server;
let rawApp: http2.Http2Server;
let proxy: ProxyServer;
let rawProxy: ProxyServer;
let proxyPort: number;
let rawProxyPort: number;
const endpoints: H2Endpoint[] = [];

beforeAll(async () => {
  grpcServer = new grpc.Server();
  grpcServer.addService(echoService, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const s = call.request.toString();
      if (s === 'fail') return cb({ code: grpc.status.NOT_FOUND, details: 'nope' });
      if (s === 'slow') return void setTimeout(() => cb(null, Buffer.from('late')), 2000);
      const md = new grpc.Metadata();
      md.set('x-trailer', 'yes');
      cb(null, Buffer.from(`echo:${s}`), md);
    },
    stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(Buffer.from(`s:${b}`)));
      call.on('end', () => call.end());
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const ep = new H2Endpoint({ address: '127.0.0.1', port: grpcPort });
  endpoints.push(ep);
  proxy = new ProxyServer({ handler: ep.handler });
  proxyPort = (await proxy.listen(0)).port;

  rawApp = http2.createServer();
  rawApp.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] === '/reset') {
      stream.respond({ ':status': 200 });
      stream.write('partial');
      setTimeout(() => stream.destroy(new Error('boom')), 20);
      return;
    }
    stream.respond({ ':status': 200, 'x-path': String(headers[':path']), 'x-auth': String(headers[':authority']) });
    stream.end('ok');
  });
  const rawPort = await listen(rawApp);
  const ep2 = new H2Endpoint({ address: '127.0.0.1', port: rawPort });
  endpoints.push(ep2);
  rawProxy = new ProxyServer({ handler: ep2.handler });
  rawProxyPort = (await rawProxy.listen(0)).port;
});

afterAll(async () => {
  await proxy.close();
  await rawProxy.close();
  for (const e of endpoints) e.close();
  grpcServer.forceShutdown();
  await closeServer(rawApp);
});

function client(): grpc.Client {
  return new grpc.Client(`127.0.0.1:${proxyPort}`, grpc.credentials.createInsecure());
}

function unary(c: grpc.Client, msg: string, deadlineMs = 5000): Promise<{ err: grpc.ServiceError | null; value?: string; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let result: { err: grpc.ServiceError | null; value?: string } | undefined;
    let trailers: grpc.Metadata | undefined;
    const settle = (): void => {
      if (result && trailers) resolve({ ...result, trailers });
    };
    const call = c.makeUnaryRequest('/test.Echo/Unary', (v: Buffer) => v, (b: Buffer) => b, Buffer.from(msg), new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs }, (err, value) => {
        result = { err, value: value?.toString() };
        settle();
      });
    call.on('status', (s) => {
      trailers = s.metadata;
      settle();
    });
  });
}

test('h2c prior knowledge: the proxy forwards :authority and path', async () => {
  const s = http2.connect(`http://127.0.0.1:${rawProxyPort}`);
  const r = await h2get(s, { ':path': '/x//y', ':authority': 'svc.test' });
  expect(r.headers[':status']).toBe(200);
  expect(r.headers['x-path']).toBe('/x/y');
  expect(r.headers['x-auth']).toBe('svc.test');
  expect(r.body).toBe('ok');
  s.close();
});

test('gRPC unary: response, trailers and non-OK status pass through', async () => {
  const c = client();
  const ok = await unary(c, 'hi');
  expect(ok.err).toBeNull();
  expect(ok.value).toBe('echo:hi');
  expect(ok.trailers?.get('x-trailer')).toEqual(['yes']);
  const bad = await unary(c, 'fail');
  expect(bad.err?.code).toBe(grpc.status.NOT_FOUND);
  expect(bad.err?.details).toBe('nope');
  c.close();
});

test('gRPC bidi streaming passes every message both ways', async () => {
  const c = client();
  const call = c.makeBidiStreamRequest('/test.Echo/Stream', (v: Buffer) => v, (b: Buffer) => b);
  const got: string[] = [];
  const done = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('data', (b: Buffer) => got.push(b.toString()));
  for (const m of ['a', 'b', 'c']) call.write(Buffer.from(m));
  call.end();
  const status = await done;
  expect(status.code).toBe(grpc.status.OK);
  expect(got).toEqual(['s:a', 's:b', 's:c']);
  c.close();
});

test('grpc-timeout: the proxy answers DEADLINE_EXCEEDED when the deadline passes', async () => {
  // GIVEN a raw h2 client that sends grpc-timeout 200m (so the proxy, not the client, enforces it)
  const s = http2.connect(`http://127.0.0.1:${proxyPort}`);
  const frame = Buffer.alloc(5 + 4);
  frame.writeUInt32BE(4, 1);
  frame.write('slow', 5);
  const r = await h2get(s, { ':method': 'POST', ':path': '/test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m' }, frame.toString('latin1'));
  // THEN a trailers-only response with grpc-status 4 and the weft-error reason
  expect(r.headers['grpc-status']).toBe('4');
  expect(String(r.headers['weft-error'])).toMatch(/^timeout/);
  s.close();
});

test('upstream RST_STREAM mid-body becomes a downstream reset, not a clean end', async () => {
  const s = http2.connect(`http://127.0.0.1:${rawProxyPort}`);
  const r = await h2get(s, { ':path': '/reset' });
  expect(r.headers[':status']).toBe(200);
  expect(r.body).toBe('partial');
  expect(r.rstCode).not.toBe(0);
  s.close();
});
