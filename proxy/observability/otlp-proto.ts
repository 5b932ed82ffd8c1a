/**
 * OTLP/HTTP protobuf encoding of spans (ExportTraceServiceRequest), from the field numbers of
 * opentelemetry-proto v1 (collector/trace/v1, trace/v1, common/v1, resource/v1), parsed once.
 */
import * as protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; Status status = 15; fixed32 flags = 16;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const request = protobuf.parse(PROTO, { keepCase: false }).root.lookupType('otlp.ExportTraceServiceRequest');

/** The OTLP JSON request shape (what OtlpHttpExporter builds), with hex ids and decimal-string times. */
export interface OtlpJsonRequest {
  readonly resourceSpans: readonly {
    readonly resource: { readonly attributes: readonly JsonKeyValue[] };
    readonly scopeSpans: readonly {
      readonly scope: { readonly name: string };
      readonly spans: readonly {
        readonly traceId: string; readonly spanId: string; readonly parentSpanId?: string; readonly name: string; readonly kind: number;
        readonly startTimeUnixNano: string; readonly endTimeUnixNano: string; readonly attributes: readonly JsonKeyValue[]; readonly status: { readonly code: number };
        readonly flags?: number;
      }[];
    }[];
  }[];
}
type JsonKeyValue = { readonly key: string; readonly value: { readonly stringValue?: string; readonly intValue?: string } };

const kv = (a: readonly JsonKeyValue[]) => a.map((x) => ({ key: x.key, value: x.value.stringValue !== undefined ? { stringValue: x.value.stringValue } : { intValue: x.value.intValue ?? '0' } }));
// fromObject turns decimal strings into 64-bit values exactly (protobufjs carries `long`); a JS number would lose nanoseconds
const u64 = (s: string): string => s;

/** The same request in the protobuf encoding (ids as bytes, times as fixed64). */
export function encodeOtlpProtobuf(req: OtlpJsonRequest): Uint8Array {
  const msg = request.fromObject({
    resourceSpans: req.resourceSpans.map((rs) => ({
      resource: { attributes: kv(rs.resource.attributes) },
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: ss.scope,
        spans: ss.spans.map((s) => ({
          traceId: Buffer.from(s.traceId, 'hex'), spanId: Buffer.from(s.spanId, 'hex'),
          ...(s.parentSpanId ? { parentSpanId: Buffer.from(s.parentSpanId, 'hex') } : {}),
          name: s.name, kind: s.kind, startTimeUnixNano: u64(s.startTimeUnixNano), endTimeUnixNano: u64(s.endTimeUnixNano),
          attributes: kv(s.attributes), status: s.status, ...(s.flags !== undefined ? { flags: s.flags } : {}),
        })),
      })),
    })),
  });
  return request.encode(msg).finish();
}
