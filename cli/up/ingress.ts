/**
 * `--expose productpage=9080`: a plain HTTP listener on localhost whose requests enter the mesh
 * through the ingress sidecar (identity `weft-ingress`): the request keeps its path and headers,
 * gets the service's authority, and goes to that sidecar's outbound port, so routing, canaries,
 * retries and mTLS apply exactly as for an in-mesh caller.
 */
import * as http from 'node:http';
import { UP_ERRORS, UpError } from './errors';
import type { ExposePlan } from './plan';

/** A running ingress listener. */
export interface Ingress {
  readonly service: string;
  readonly namespace: string;
  readonly port: number;
  readonly url: string;
  /** Requests being forwarded right now. */
  inFlight(): number;
  /** Requests accepted since start. */
  accepted(): number;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

/** Starts one ingress listener for `expose`, forwarding to the sidecar outbound at `127.0.0.1:sidecarPort`. */
export async function startIngress(expose: ExposePlan, sidecarPort: () => number, host = '127.0.0.1'): Promise<Ingress> {
  const authority = `${expose.service}.${expose.namespace}:${expose.servicePort}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let inFlight = 0;
  let accepted = 0;
  let idle: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    inFlight++;
    accepted++;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      if (--inFlight === 0) idle?.();
    };
    res.once('close', done);
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    headers.host = authority;
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    const up = http.request({ host: '127.0.0.1', port: sidecarPort(), method: req.method, path: req.url, headers, agent }, (ur) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(ur.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
      res.writeHead(ur.statusCode ?? 502, out);
      ur.pipe(res);
    });
    up.on('error', (e) => {
      if (res.headersSent) return void res.destroy(e);
      const body = JSON.stringify({ error: `ingress: the sidecar did not answer: ${e.message}` });
      res.writeHead(502, { 'content-type': 'application/json', 'weft-error': 'ingress_upstream', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 5000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new UpError(UP_ERRORS.port, `--expose ${expose.service}=${expose.listenPort}: cannot listen on ${host}:${expose.listenPort} (${e.code ?? e.message}); pick another port`, { cause: e, exitCode: 2 })));
    server.listen(expose.listenPort, host, () => resolve((server.address() as { port: number }).port));
  });
  return {
    service: expose.service,
    namespace: expose.namespace,
    port,
    url: `http://${host}:${port}`,
    inFlight: () => inFlight,
    accepted: () => accepted,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => (idle = r)), new Promise((r) => setTimeout(r, graceMs).unref())]);
      }
      server.closeAllConnections();
      await closed;
      agent.destroy();
    },
  };
}
