/**
 * `--expose productpage=9080`: a listener on localhost whose requests enter the mesh through the
 * ingress sidecar (identity `weft-ingress`). It is the sidecar's own listener (proxy/http/server.ts:
 * the same limits, timeouts, framing checks and path rules); every request is sent, origin-form,
 * with the exposed service's authority to that sidecar's outbound port, so an absolute-form target
 * can never pick another service, and routing, canaries, retries and mTLS apply as in the mesh.
 */
import { finished } from 'node:stream';
import { H1Endpoint, ProxyServer, XFCC_HEADER, type Handler, type Headers, type HttpLimits } from '../../proxy';
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

/** Options of {@link startIngress}. */
export interface IngressOptions {
  /** Listener limits (the sidecar's defaults otherwise). @default DEFAULT_LIMITS */
  readonly limits?: Partial<HttpLimits>;
}

/** Starts one ingress listener for `expose`, forwarding to the sidecar outbound at `127.0.0.1:sidecarPort`. */
export async function startIngress(expose: ExposePlan, sidecarPort: () => number, host = '127.0.0.1', opts: IngressOptions = {}): Promise<Ingress> {
  const authority = `${expose.service}.${expose.namespace}:${expose.servicePort}`;
  let inFlight = 0;
  let accepted = 0;
  // the sidecar may be restarted on another port: one pooled client per port seen
  let client: H1Endpoint | undefined;
  let clientPort = -1;
  const upstream = (): H1Endpoint => {
    const port = sidecarPort();
    if (!client || port !== clientPort) {
      client?.close();
      client = new H1Endpoint({ address: '127.0.0.1', port, maxSockets: 256 });
      clientPort = port;
    }
    return client;
  };
  const handler: Handler = async (req) => {
    inFlight++;
    accepted++;
    let counted = true;
    const done = (): void => {
      if (counted) inFlight--;
      counted = false;
    };
    try {
      // the edge: the client's own x-forwarded-for and x-forwarded-client-cert are never trusted
      const headers: Headers = { ...req.headers, 'x-forwarded-for': req.peer.address };
      delete headers[XFCC_HEADER];
      const res = await upstream().handler({ ...req, authority, headers });
      if (res.body) finished(res.body, done);
      else done();
      return res;
    } catch (e) {
      done();
      throw e;
    }
  };
  const server = new ProxyServer({ handler, limits: opts.limits });
  let port: number;
  try {
    port = (await server.listen(expose.listenPort, host)).port;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UpError(UP_ERRORS.port, `--expose ${expose.service}=${expose.listenPort}: cannot listen on ${host}:${expose.listenPort} (${err.code ?? err.message}); pick another port`, { cause: e, exitCode: 2 });
  }
  return {
    service: expose.service,
    namespace: expose.namespace,
    port,
    url: `http://${host}:${port}`,
    inFlight: () => inFlight,
    accepted: () => accepted,
    async close(graceMs = 10_000) {
      // drain: stop accepting, idle keep-alive connections close now, busy ones after their response
      await server.drain(graceMs);
      client?.close();
    },
  };
}
