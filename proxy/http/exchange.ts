/**
 * What both servers share once a request is parsed: the ProxyRequest they hand to the Handler,
 * the last-resort error → response mapping (main.ts wires http/respond.ts over it), and the
 * gRPC deadline (`grpc-timeout`) that aborts the request when it passes.
 */
import { Readable } from 'node:stream';
import type { Handler, Headers, Peer, ProxyRequest, ProxyResponse } from '../stack/types';
import { WeftError } from '../../api/errors';
import { BadRequestError, OverloadedError, UpstreamConnectError } from './wire-errors';
import { parseGrpcTimeout } from './grpc';

/** Maps an error a Handler threw to the response the client gets. */
export type ErrorResponder = (err: unknown, req: ProxyRequest | undefined) => ProxyResponse;

/** The deadline from `grpc-timeout` passed before the response started. */
export class DeadlineExceededError extends WeftError {
  constructor(ms: number) {
    super('WEFT_ERR_DEADLINE_EXCEEDED', `grpc-timeout of ${ms}ms passed`);
    this.name = 'DeadlineExceededError';
  }
}

const GRPC_CODE: Record<number, number> = { 400: 13, 403: 7, 404: 12, 429: 8, 431: 8, 502: 14, 503: 14, 504: 4 };

/** A proxy-made response; gRPC requests get a trailers-only response with grpc-status instead. */
export function syntheticResponse(status: number, reason: string, message: string, grpc: boolean, close = false): ProxyResponse {
  const headers: Headers = { 'weft-error': reason };
  if (close) headers['connection'] = 'close';
  if (grpc) {
    return {
      status: 200,
      headers: { ...headers, 'content-type': 'application/grpc', 'grpc-status': String(GRPC_CODE[status] ?? 2), 'grpc-message': encodeURIComponent(message) },
      body: null,
    };
  }
  return { status, headers: { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(message) + 1) }, body: bodyOf(`${message}\n`) };
}

function bodyOf(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}

/** The servers' own mapping, used when no other responder is configured. */
export const defaultErrorResponder: ErrorResponder = (err, req) => {
  const grpc = req?.grpc ?? false;
  if (err instanceof BadRequestError) return syntheticResponse(err.status, err.code.replace('WEFT_ERR_', '').toLowerCase(), err.message, grpc, true);
  if (err instanceof OverloadedError) return syntheticResponse(503, 'overloaded', err.message, grpc, true);
  if (err instanceof DeadlineExceededError) return syntheticResponse(504, 'deadline-exceeded', err.message, grpc);
  if (err instanceof UpstreamConnectError) return syntheticResponse(503, 'upstream-connect', err.message, grpc);
  const code = WeftError.isWeftError(err) ? err.code : 'WEFT_ERR_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  return syntheticResponse(502, code.replace('WEFT_ERR_', '').toLowerCase(), message, grpc);
};

/** Fields a server fills in to build a ProxyRequest. */
export interface RequestParts {
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly scheme: 'http' | 'https';
  readonly headers: Headers;
  readonly body: ProxyRequest['body'];
  readonly httpVersion: '1.1' | '2';
  readonly peer: Peer;
  readonly grpc: boolean;
}

/** A request in flight: the ProxyRequest plus the controller the server aborts on disconnect. */
export interface Exchange {
  readonly req: ProxyRequest;
  readonly abort: AbortController;
  /** Runs the handler; never rejects (errors become responses). */
  run(handler: Handler, onError: ErrorResponder): Promise<ProxyResponse>;
  /** Stops the deadline timer once the response is complete. */
  done(): void;
}

/** Builds the ProxyRequest and arms the gRPC deadline. */
export function startExchange(parts: RequestParts): Exchange {
  const abort = new AbortController();
  const req: ProxyRequest = { ...parts, signal: abort.signal, meta: new Map() };
  const timeoutMs = parts.grpc ? parseGrpcTimeout(parts.headers['grpc-timeout']) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let deadline: Promise<never> | undefined;
  if (timeoutMs !== undefined) {
    deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new DeadlineExceededError(timeoutMs);
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
