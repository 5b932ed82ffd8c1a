/** The conformance suite's test service: real grpc-js servers on 127.0.0.1:0 that answer with their version. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'path';

/** The Echo service definition and client constructor. */
export function echoProto(): { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } {
  const def = protoLoader.loadSync(path.join(__dirname, 'echo.proto'), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { weft: { test: { Echo: grpc.ServiceClientConstructor } } };
  return { service: pkg.weft.test.Echo.service, Client: pkg.weft.test.Echo };
}

/** A running backend. */
export interface EchoBackend {
  readonly version: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts an Echo backend that replies `{ version }`. */
export async function startEchoBackend(version: string): Promise<EchoBackend> {
  const server = new grpc.Server();
  server.addService(echoProto().service, {
    Echo: (call: grpc.ServerUnaryCall<{ message: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { message: call.request.message, version }),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    version,
    port,
    close: () => new Promise<void>((resolve) => {
      const t = setTimeout(() => { server.forceShutdown(); resolve(); }, 500);
      server.tryShutdown(() => { clearTimeout(t); resolve(); });
    }),
  };
}
