/**
 * What both servers share once a request is parsed: the ProxyRequest they hand to the Handler,
 * the last-resort error → response mapping (main.ts wires http/respond.ts over it), and the
 * gRPC deadline (`grpc-timeout`) that aborts the request when it passes.
 */
import type { Handler, Headers, Peer, ProxyRequest, ProxyResponse } from '../stack/types';
import { TimeoutError } from './errors';
import { errorResponse } from './respond';
import { parseGrpcTimeout } from './grpc';
import { RequestAbort } from '../stack/signal';

/** Maps an error a Handler threw to the response the client gets. */
export type ErrorResponder = (err: unknown, req: ProxyRequest | undefined) => ProxyResponse;

/** The servers' mapping when none is configured: respond.ts's. */
export const defaultErrorResponder: ErrorResponder = (err, req) => errorResponse(err, req);

/** Fields a server fills in to build a ProxyRequest. */
export interface RequestParts {
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly scheme: 'http' | 'https';
  readonly headers: Headers;
  readonly body: ProxyRequest['body'];
  readonly trailers?: ProxyRequest['trailers'];
  readonly httpVersion: '1.1' | '2';
  readonly peer: Peer;
  readonly grpc: boolean;
}

/** A request in flight: the ProxyRequest plus the controller the server aborts on disconnect. */
export interface Exchange {
  readonly req: ProxyRequest;
  readonly abort: { abort(reason?: unknown): void };
  /** Runs the handler; never rejects (errors become responses). */
  run(handler: Handler, onError: ErrorResponder): Promise<ProxyResponse>;
  /** Stops the deadline timer once the response is complete. */
  done(): void;
}

/** Builds the ProxyRequest and arms the gRPC deadline. */
export function startExchange(parts: RequestParts): Exchange {
  const abort = new RequestAbort();
  const req: ProxyRequest = { ...parts, signal: abort.signal, meta: new Map() };
  const timeoutMs = parts.grpc ? parseGrpcTimeout(parts.headers['grpc-timeout']) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let deadline: Promise<never> | undefined;
  if (timeoutMs !== undefined) {
    deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new TimeoutError('timeout', timeoutMs, { source: 'grpc-timeout' });
        abort.abort(err);
        reject(err);
      }, timeoutMs);
    });
    deadline.catch(() => undefined);
  }
  return {
    req,
    abort,
    async run(handler, onError) {
      try {
        const p = handler(req);
        return await (deadline ? Promise.race([p, deadline]) : p);
      } catch (err) {
        try {
          return onError(err, req);
        } catch (e2) {
          return defaultErrorResponder(e2, req);
        }
      }
    },
    done() {
      if (timer) clearTimeout(timer);
    },
  };
}
