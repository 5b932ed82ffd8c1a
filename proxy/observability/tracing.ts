/**
 * W3C Trace Context in the proxy: a `traceparent` is propagated (a new span id per hop) or
 * created, sampled at the configured rate (an incoming sampled flag is honoured), and finished
 * spans are exported in batches over OTLP/HTTP (protobuf or JSON). Off unless the bootstrap enables it.
 */
import { randomBytes } from 'node:crypto';
import type { Layer, ProxyRequest } from '../stack/types';
import { encodeOtlpProtobuf, type OtlpJsonRequest } from './otlp-proto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A parsed or created trace context. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly sampled: boolean;
}

/** A finished span. */
export interface Span extends TraceContext {
  readonly name: string;
  readonly kind: 'server' | 'client';
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, string | number>>;
  readonly error: boolean;
}

/** Where finished spans go. */
export interface SpanExporter {
  export(span: Span): void;
  close(): Promise<void>;
}

/** Reads `traceparent` (version 00; all-zero ids are invalid) or starts a trace sampled at `rate`. */
export function traceContext(header: string | string[] | undefined, rate: number, random: () => number = Math.random): TraceContext {
  const h = Array.isArray(header) ? header[0] : header;
  const m = h ? TRACEPARENT.exec(h.trim()) : null;
  const spanId = randomBytes(8).toString('hex');
  if (m && !/^0+$/.test(m[1]) && !/^0+$/.test(m[2])) {
    return { traceId: m[1], parentSpanId: m[2], spanId, sampled: (parseInt(m[3], 16) & 1) === 1 };
  }
  return { traceId: randomBytes(16).toString('hex'), spanId, sampled: random() < rate };
}

/** The `traceparent` value for `ctx`. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

/** Options of the tracing layer. */
export interface TracingOptions {
  /** Probability a new trace is sampled. */
  readonly sampleRate: number;
  readonly direction: 'inbound' | 'outbound';
  /** Receives sampled spans. @default - spans are not exported (propagation only) */
  readonly exporter?: SpanExporter;
  /** Uniform [0, 1) source of the sampling decision. @default Math.random */
  readonly random?: () => number;
}

/** The tracing layer: outermost, so its span covers the whole proxy hop. */
export function tracing(opts: TracingOptions): Layer {
  return (next) => async (req: ProxyRequest) => {
    const ctx = traceContext(req.headers['traceparent'], opts.sampleRate, opts.random);
    req.meta.set('weft.traceId', ctx.traceId);
    const startNs = process.hrtime.bigint();
    const out: ProxyRequest = { ...req, headers: { ...req.headers, traceparent: formatTraceparent(ctx) } };
    const finish = (status: number, error: boolean): void => {
      if (!ctx.sampled || !opts.exporter) return;
      opts.exporter.export({
        ...ctx, name: `${req.method} ${req.authority}`, kind: opts.direction === 'inbound' ? 'server' : 'client',
        startNs, endNs: process.hrtime.bigint(), error,
        attributes: { 'http.request.method': req.method, 'url.path': req.path.split('?')[0], 'server.address': req.authority, 'http.response.status_code': status, 'weft.direction': opts.direction },
      });
    };
    try {
      const res = await next(out);
      finish(res.status, res.status >= 500);
      return res;
    } catch (e) {
      finish(0, true);
      throw e;
    }
  };
}

/** Options of an OtlpHttpExporter beyond endpoint and service. */
export interface OtlpExporterOptions {
  /** Encoding the receiver expects. @default 'http/protobuf' (the OTLP default) */
  readonly protocol?: 'http/protobuf' | 'http/json';
  /** Spans held while a request is in flight; more are dropped (counted), never waited for. @default 2048 */
  readonly maxQueue?: number;
  /** Told how many spans were dropped (queue full, or the receiver failed or timed out). @default none */
  readonly onDrop?: (n: number) => void;
  /** Told how many spans the receiver accepted. @default none */
  readonly onExport?: (n: number) => void;
  /** More resource attributes (`service.namespace`, `service.version`). @default none */
  readonly resource?: Readonly<Record<string, string>>;
}

/**
 * Batches spans and POSTs them over OTLP/HTTP (protobuf or JSON) to `<endpoint>/v1/traces`. Never
 * blocks the request path: export() only appends to a bounded queue; one request at a time is in
 * flight; spans that do not fit, and batches the receiver refuses, are dropped and counted.
 */
export class OtlpHttpExporter implements SpanExporter {
  #queue: Span[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #url: string;
  readonly #opts: OtlpExporterOptions;
  #inflight: Promise<void> | undefined;
  /** Spans dropped so far. */
  dropped = 0;
  /** Spans the receiver accepted so far. */
  exported = 0;

  constructor(endpoint: string, private readonly serviceName: string, private readonly maxBatch = 256, intervalMs = 1000, opts: OtlpExporterOptions = {}) {
    this.#url = /\/v1\/traces$/.test(endpoint) ? endpoint : `${endpoint.replace(/\/$/, '')}/v1/traces`;
    this.#opts = opts;
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  export(span: Span): void {
    if (this.#queue.length >= (this.#opts.maxQueue ?? 2048)) {
      this.#drop(1);
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.maxBatch) void this.flush();
  }

  #drop(n: number): void {
    this.dropped += n;
    this.#opts.onDrop?.(n);
  }

  /** Sends one batch unless a request is already in flight; resolves when that request settles. */
  flush(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    if (this.#queue.length === 0) return Promise.resolve();
    const spans = this.#queue.splice(0, this.maxBatch);
    const json = otlpRequest(spans, this.serviceName, this.#opts.resource ?? {});
    const proto = (this.#opts.protocol ?? 'http/protobuf') === 'http/protobuf';
    const body = proto ? Buffer.from(encodeOtlpProtobuf(json)) : JSON.stringify(json);
    this.#inflight = fetch(this.#url, { method: 'POST', headers: { 'content-type': proto ? 'application/x-protobuf' : 'application/json' }, body, signal: AbortSignal.timeout(5000) })
      .then(async (r) => {
        await r.arrayBuffer().catch(() => undefined);
        if (r.ok) {
          this.exported += spans.length;
          this.#opts.onExport?.(spans.length);
        } else this.#drop(spans.length);
      })
      .catch(() => this.#drop(spans.length))
      .finally(() => { this.#inflight = undefined; });
    return this.#inflight;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    // bounded: each round sends (or drops) one batch
    for (let i = 0; i < 64 && (this.#queue.length || this.#inflight); i++) await this.flush();
  }
}

/** The OTLP JSON request of `spans` (hex ids, decimal-string nanoseconds). */
export function otlpRequest(spans: readonly Span[], serviceName: string, resource: Readonly<Record<string, string>> = {}): OtlpJsonRequest {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }, ...Object.entries(resource).map(([key, v]) => ({ key, value: { stringValue: v } }))] },
      scopeSpans: [{
        scope: { name: 'weft-proxy' },
        spans: spans.map((s) => ({
          traceId: s.traceId, spanId: s.spanId, ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name, kind: s.kind === 'server' ? 2 : 3,
          startTimeUnixNano: String(s.startNs + OFFSET_NS), endTimeUnixNano: String(s.endNs + OFFSET_NS),
          attributes: Object.entries(s.attributes).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } })),
          status: { code: s.error ? 2 : 0 },
          flags: s.sampled ? 1 : 0,
        })),
      }],
    }],
  };
}

/** hrtime → Unix-epoch nanoseconds. */
const OFFSET_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
