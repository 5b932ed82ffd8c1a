/**
 * Child process: an UNMODIFIED @grpc/grpc-js-xds client (bootstrap from GRPC_XDS_BOOTSTRAP_CONFIG)
 * calling Echo over `xds:///<target>`. The parent sends {cmd:'run', n, concurrency, deadlineMs}
 * and gets back per-version counts and error texts. One process per scenario file: xDS registers globally.
 */
import * as grpc from '@grpc/grpc-js';
import { echoProto } from './echo';

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@grpc/grpc-js-xds').register();

const target = process.argv[2] ?? 'xds:///echo.default';
const { Client } = echoProto();
const client = new Client(target, grpc.credentials.createInsecure());

interface RunCmd { id: number; cmd: 'run'; n: number; concurrency: number; deadlineMs: number; durationMs?: number }

function one(deadlineMs: number): Promise<{ version?: string; error?: string }> {
  return new Promise((resolve) => {
    const method = (client as unknown as { Echo: (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { version: string }) => void) => void }).Echo;
    method.call(client, { message: 'hi' }, { deadline: Date.now() + deadlineMs }, (e, r) => resolve(e ? { error: `${grpc.status[e.code]}: ${e.details}` } : { version: r!.version }));
  });
}

async function run(cmd: RunCmd): Promise<{ counts: Record<string, number>; errors: Record<string, number>; total: number }> {
  const counts: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let started = 0;
  const until = cmd.durationMs !== undefined ? Date.now() + cmd.durationMs : undefined;
  const more = () => (until !== undefined ? Date.now() < until : started < cmd.n);
  const worker = async () => {
    while (more()) {
      started++;
      const r = await one(cmd.deadlineMs);
      if (r.version) counts[r.version] = (counts[r.version] ?? 0) + 1;
      else errors[r.error!] = (errors[r.error!] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: cmd.concurrency }, worker));
  return { counts, errors, total: started };
}

process.on('message', (msg: RunCmd | { cmd: 'exit' }) => {
  if (msg.cmd === 'exit') { client.close(); process.exit(0); }
  run(msg).then((res) => process.send!({ id: msg.id, ...res }), (e) => process.send!({ id: msg.id, fatal: String(e) }));
});
process.send!({ ready: true });
