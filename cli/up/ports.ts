/**
 * Free loopback ports, picked up front: a sidecar's bootstrap, the static endpoints file and the
 * control plane's restart all need the port before anything listens on it.
 */
import { createServer } from 'node:net';
import { UP_ERRORS, UpError } from './errors';

/** Binds `count` listeners on `host`:0 at once (so the ports are distinct), closes them, returns the ports. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', (e) => reject(new UpError(UP_ERRORS.port, `cannot bind ${host}:0: ${e.message}`, { cause: e })));
      s.listen(0, host, () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Checks that `port` can be bound on `host` (for `--expose` with a fixed port). */
export async function assertBindable(port: number, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => reject(new UpError(UP_ERRORS.port, `${host}:${port} is not free (${e.code ?? e.message}); pick another with --expose <service>=<port>`, { cause: e, exitCode: 2 })));
    s.listen(port, host, () => s.close(() => resolve()));
  });
}
