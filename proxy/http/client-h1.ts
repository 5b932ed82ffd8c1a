/**
 * HTTP/1.1 endpoint client: a keep-alive pool (Node's Agent) to one endpoint, plaintext or mTLS.
 * Connection failures are `WEFT_ERR_CONNECT_FAILURE` (nothing sent: safe to retry elsewhere); a
 * reset after the response started errors the body, so the server aborts downstream too.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Handler, Headers, ProxyRequest, ProxyResponse } from '../stack/types';
import { forwardableTrailers, fromNodeHeaders, hasBadValue } from './headers';
import { BadRequestError } from './wire-errors';
import { ConnectFailureError, UpstreamResetError } from './errors';
import { spiffeCheck } from '../transport/tls';

/** Where and how to reach one endpoint over HTTP/1.1. */
export interface H1EndpointOptions {
  readonly address: string;
  readonly port: number;
  /** mTLS to another sidecar. @default - plaintext */
  readonly tls?: { readonly context: () => tls.SecureContext | undefined; readonly expectedIdentity?: string };
  /** @default 5000 (Envoy connect_timeout) */
  readonly connectTimeoutMs?: number;
  /**
   * Pooled connections per endpoint; past it Node's Agent queues requests without bound, so a
   * caller with its own limit passes Infinity (EndpointClients does: the balancer caps). @default 256
   */
  readonly maxSockets?: number;
  /** Idle pooled connections are closed after this (shorter than any server's keep-alive). @default 30000 */
  readonly idleTimeoutMs?: number;
}

/** A pooled HTTP/1.1 client for one endpoint. */
export class H1Endpoint {
  readonly #agent: http.Agent;
  readonly #opts: H1EndpointOptions;
  readonly #name: string;

  constructor(opts: H1EndpointOptions) {
    this.#opts = opts;
    this.#name = `${opts.address}:${opts.port}`;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 256, maxFreeSockets: 256, timeout: opts.idleTimeoutMs ?? 30_000, scheduling: 'lifo' as const };
    this.#agent = opts.tls ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
  }

  /** The Handler sending a request to this endpoint. */
  readonly handler: Handler = (req) => this.#send(req);

  #send(req: ProxyRequest): Promise<ProxyResponse> {
    const upgrade = req.headers['upgrade'] !== undefined;
    const headers: Record<string, string | string[]> = { ...req.headers, host: req.authority };
    for (const k in headers) {
      if (hasBadValue(headers[k])) return Promise.reject(new BadRequestError('WEFT_ERR_BAD_HEADER', `header ${k} holds CR, LF or NUL`, 400));
    }
    const t = this.#opts.tls;
    const ctx = t?.context();
    if (t && !ctx) return Promise.reject(new ConnectFailureError(this.#name, { cause: new Error('no client certificate yet') }));
    return new Promise<ProxyResponse>((resolve, reject) => {
      let connected = false;
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      let creq: http.ClientRequest;
      try {
        const base: https.RequestOptions = {
          agent: this.#agent, host: this.#opts.address, port: this.#opts.port, method: req.method, path: req.path,
          headers, setHost: false,
          // response heads up to Envoy's 60 KiB (Node's client default is 16 KiB)
          maxHeaderSize: 64 * 1024,
        };
        creq = t
          ? https.request({ ...base, secureContext: ctx, rejectUnauthorized: true, ALPNProtocols: ['http/1.1'], checkServerIdentity: spiffeCheck(t.expectedIdentity) } as https.RequestOptions)
          : http.request(base);
      } catch (e) {
        fail(new BadRequestError('WEFT_ERR_BAD_HEADER', (e as Error).message, 400));
        return;
      }
      const onAbort = (): void => {
        creq.destroy(req.signal.reason instanceof Error ? req.signal.reason : new Error('aborted'));
      };
      if (req.signal.aborted) return onAbort();
      req.signal.addEventListener('abort', onAbort, { once: true });
      creq.on('socket', (s: net.Socket) => {
        if (!s.connecting) {
          connected = true;
          return;
        }
        const timer = setTimeout(() => creq.destroy(new ConnectFailureError(this.#name, { cause: new Error('connect timeout') })), this.#opts.connectTimeoutMs ?? 5000);
        s.once(t ? 'secureConnect' : 'connect', () => {
          connected = true;
          clearTimeout(timer);
        });
        s.once('close', () => clearTimeout(timer));
      });
      creq.on('error', (err: NodeJS.ErrnoException) => {
        req.signal.removeEventListener('abort', onAbort);
        if (WeftErrorLike(err)) return fail(err);
        if (!connected) return fail(new ConnectFailureError(this.#name, { cause: err }));
        fail(new UpstreamResetError(this.#name, { cause: err }));
      });
      creq.on('response', (res: http.IncomingMessage) => {
        settled = true;
        res.on('aborted', () => res.destroy(new UpstreamResetError(this.#name)));
        res.on('close', () => {
          req.signal.removeEventListener('abort', onAbort);
          if (!res.complete && !res.destroyed) res.destroy(new UpstreamResetError(this.#name));
        });
        const trailers = res.headers['trailer'] !== undefined
          ? new Promise<Headers | undefined>((r) => {
            res.once('end', () => r(fromNodeHeaders(res.trailers)));
            res.once('close', () => r(undefined));
          })
          : undefined;
        const noBody = req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
        if (noBody) res.resume();
        resolve({ status: res.statusCode ?? 502, headers: fromNodeHeaders(res.headers), body: noBody ? null : res, trailers });
      });
      creq.on('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        settled = true;
        if (head.length > 0) socket.unshift(head);
        req.body?.pipe(socket);
        resolve({ status: 101, headers: fromNodeHeaders(res.headers, true), body: socket });
      });
      if (upgrade || !req.body) creq.end();
      else if (req.trailers && headers['content-length'] === undefined) {
        // chunked: the request trailers go after the last chunk (ClientRequest.addTrailers)
        const trailers = req.trailers;
        req.body.on('error', (e) => creq.destroy(e));
        req.body.once('end', () => {
          void trailers.catch(() => undefined).then((t) => {
            const ok = forwardableTrailers(t);
            try {
              if (ok) creq.addTrailers(ok as Record<string, string>);
              creq.end();
            } catch (e) {
              creq.destroy(e as Error);
            }
          });
        });
        req.body.pipe(creq, { end: false });
      } else {
        req.body.on('error', (e) => creq.destroy(e));
        req.body.pipe(creq);
      }
    });
  }

  /** Closes pooled connections. */
  close(): void {
    this.#agent.destroy();
  }

  /** Closes the idle pooled connections only; busy ones finish their request (an endpoint leaving the config). */
  closeIdle(): void {
    for (const list of Object.values(this.#agent.freeSockets)) for (const s of list ?? []) s.destroy();
  }
}

function WeftErrorLike(e: unknown): boolean {
  return typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('WEFT_ERR_');
}
