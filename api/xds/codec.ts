/**
 * The strict xDS codec. protobufjs `fromObject()` silently drops unknown or misspelt keys, which
 * turns a typo into a silently missing setting; this codec rejects them (recursively, inside Any too)
 * and defines the one object form of a resource that the control plane emits and the proxy reads.
 */
import * as protobuf from 'protobufjs';
import { WeftError } from '../errors';
import { lookupTypeUrl } from './protos';

/** A resource in weft's object form: snake_case keys, enums as strings, Any as `{'@type', ...fields}`. */
export type XdsObject = Record<string, unknown>;

/** A resource failed the strict encoder or could not be decoded; `problems` names each path. */
export class XdsCodecError extends WeftError {
  constructor(
    code: 'WEFT_ERR_XDS_INVALID_RESOURCE' | 'WEFT_ERR_XDS_UNKNOWN_TYPE' | 'WEFT_ERR_XDS_DECODE',
    public readonly problems: readonly string[],
  ) {
    super(code, problems.join('; '));
    this.name = 'XdsCodecError';
  }
}

const ANY = 'google.protobuf.Any';
const STRUCT = 'google.protobuf.Struct';
const VALUE = 'google.protobuf.Value';
const LIST_VALUE = 'google.protobuf.ListValue';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}
const names = new WeakMap<protobuf.Type, string>();
function fullName(t: protobuf.Type): string {
  let n = names.get(t);
  if (n === undefined) { n = t.fullName.replace(/^\./, ''); names.set(t, n); }
  return n;
}

function typeOrThrow(typeUrl: string): protobuf.Type {
  const t = typeof typeUrl === 'string' && typeUrl.includes('/') ? lookupTypeUrl(typeUrl) : undefined;
  if (!t) throw new XdsCodecError('WEFT_ERR_XDS_UNKNOWN_TYPE', [`unknown type URL ${JSON.stringify(typeUrl)}`]);
  return t;
}

// ---------- object form → protobufjs input (strict) ----------

/** " (did you mean x?)" when a known field is one edit-ish away (same letters ignoring _ and case). */
function hint(type: protobuf.Type, key: string): string {
  const squash = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, '');
  const near = Object.keys(type.fields).filter((f) => {
    const a = squash(f), b = squash(key);
    return a === b || (Math.abs(a.length - b.length) <= 1 && (a.startsWith(b.slice(0, -1)) || b.startsWith(a.slice(0, -1))));
  });
  return near.length ? ` (did you mean ${near.join(' or ')}?)` : '';
}

/**
 * Field names of google.protobuf.Value by field number: protobufjs bundles its own copy of
 * struct.proto (camelCase), so names are looked up rather than assumed.
 */
let valueNames: { null: string; number: string; string: string; bool: string; struct: string; list: string } | undefined;
function vn(): NonNullable<typeof valueNames> {
  if (!valueNames) {
    const byId = (id: number) => lookupTypeUrl('x/google.protobuf.Value')!.fieldsArray.find((f) => f.id === id)!.name;
    valueNames = { null: byId(1), number: byId(2), string: byId(3), bool: byId(4), struct: byId(5), list: byId(6) };
  }
  return valueNames;
}

function jsonToValue(v: unknown, p: string, out: string[]): Record<string, unknown> {
  const n = vn();
  if (v === null) return { [n.null]: 0 };
  if (typeof v === 'number') return { [n.number]: v };
  if (typeof v === 'string') return { [n.string]: v };
  if (typeof v === 'boolean') return { [n.bool]: v };
  if (Array.isArray(v)) return { [n.list]: { values: v.map((x, i) => jsonToValue(x, `${p}[${i}]`, out)) } };
  if (isPlainObject(v)) return { [n.struct]: jsonToStruct(v, p, out) };
  out.push(`${p}: ${describe(v)} cannot be stored in a Struct`);
  return {};
}
function jsonToStruct(v: unknown, p: string, out: string[]): Record<string, unknown> {
  if (!isPlainObject(v)) {
    out.push(`${p}: expected a JSON object (google.protobuf.Struct), got ${describe(v)}`);
    return {};
  }
  const fields: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) fields[k] = jsonToValue(x, `${p}.${k}`, out);
  return { fields };
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);

function convertScalar(field: protobuf.Field, v: unknown, p: string, out: string[]): unknown {
  const t = field.type;
  const bad = (want: string) => { out.push(`${p}: expected ${want}, got ${describe(v)} ${JSON.stringify(v)}`); return undefined; };
  if (t === 'string') return typeof v === 'string' ? v : bad('a string');
  if (t === 'bool') return typeof v === 'boolean' ? v : bad('a boolean');
  if (t === 'double' || t === 'float') return typeof v === 'number' && !Number.isNaN(v) ? v : bad('a number');
  if (INT32.has(t)) return Number.isInteger(v) && Math.abs(v as number) <= 2 ** 31 ? v : bad('a 32-bit integer');
  if (UINT32.has(t)) return Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32 ? v : bad('an unsigned 32-bit integer');
  if (INT64.has(t)) {
    if (Number.isSafeInteger(v)) return v;
    return typeof v === 'string' && /^-?[0-9]+$/.test(v) ? v : bad('a 64-bit integer (number or decimal string)');
  }
  if (t === 'bytes') {
    if (v instanceof Uint8Array) return v;
    return typeof v === 'string' ? Buffer.from(v, 'base64') : bad('bytes (Buffer or base64 string)');
  }
  return bad(`a value of proto type ${t}`);
}

function convertField(field: protobuf.Field, v: unknown, p: string, out: string[]): unknown {
  const rt = field.resolve().resolvedType;
  if (rt instanceof protobuf.Type) return convertMessage(rt, v, p, out);
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'string' && v in rt.values) return v;
    if (typeof v === 'number' && v in rt.valuesById) return v;
    out.push(`${p}: ${JSON.stringify(v)} is not a value of enum ${rt.name} (${Object.keys(rt.values).join(', ')})`);
    return undefined;
  }
  return convertScalar(field, v, p, out);
}

function convertAny(v: Record<string, unknown>, p: string, out: string[]): Record<string, unknown> {
  const url = v['@type'];
  if (typeof url !== 'string') {
    out.push(`${p}: an Any needs "@type" (a type URL), got keys ${Object.keys(v).join(', ') || '(none)'}`);
    return {};
  }
  const inner = lookupTypeUrl(url);
  if (!inner) {
    out.push(`${p}.@type: unknown type URL ${url}`);
    return {};
  }
  const rest = { ...v };
  delete rest['@type'];
  const before = out.length;
  const converted = convertMessage(inner, rest, p, out);
  if (out.length > before) return {};
  return { type_url: url, value: inner.encode(inner.fromObject(converted)).finish() };
}

function convertMessage(type: protobuf.Type, v: unknown, p: string, out: string[]): Record<string, unknown> {
  const name = fullName(type);
  if (name === STRUCT) return jsonToStruct(v, p, out);
  if (name === VALUE) return jsonToValue(v, p, out);
  if (name === LIST_VALUE) {
    if (!Array.isArray(v)) { out.push(`${p}: expected a JSON array (google.protobuf.ListValue), got ${describe(v)}`); return {}; }
    return { values: v.map((x, i) => jsonToValue(x, `${p}[${i}]`, out)) };
  }
  if (!isPlainObject(v)) {
    out.push(`${p}: expected an object (${name}), got ${describe(v)}`);
    return {};
  }
  if (name === ANY) return convertAny(v, p, out);
  const res: Record<string, unknown> = {};
  const oneofs = new Map<string, string>();
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    const fp = `${p}.${k}`;
    const field = type.fields[k];
    if (!field) {
      out.push(`${fp}: unknown field of ${name}${hint(type, k)}`);
      continue;
    }
    if (x === null) { out.push(`${fp}: null is not allowed; leave the field out`); continue; }
    if (field.partOf) {
      const prev = oneofs.get(field.partOf.name);
      if (prev) out.push(`${fp}: oneof ${field.partOf.name} already has ${prev}; set only one`);
      oneofs.set(field.partOf.name, k);
    }
    if (field.map) {
      if (!isPlainObject(x)) { out.push(`${fp}: expected a map object, got ${describe(x)}`); continue; }
      const m: Record<string, unknown> = {};
      for (const [mk, mv] of Object.entries(x)) m[mk] = convertField(field, mv, `${fp}.${mk}`, out);
      res[k] = m;
    } else if (field.repeated) {
      if (!Array.isArray(x)) { out.push(`${fp}: expected an array, got ${describe(x)}`); continue; }
      res[k] = x.map((e, i) => convertField(field, e, `${fp}[${i}]`, out));
    } else {
      res[k] = convertField(field, x, fp, out);
    }
  }
  return res;
}

/** Problems of `obj` as a resource of `typeUrl` (unknown keys, wrong types, two members of a oneof). */
export function resourceCodecProblems(typeUrl: string, obj: unknown): string[] {
  const type = typeOrThrow(typeUrl);
  const out: string[] = [];
  convertMessage(type, obj, fullName(type).split('.').pop() ?? 'resource', out);
  return out;
}

/**
 * Encodes a resource given in the object form. STRICT: any unknown key (at any depth, inside Any
 * too), wrong scalar type or doubly-set oneof throws `WEFT_ERR_XDS_INVALID_RESOURCE` listing all.
 */
export function encodeResource(typeUrl: string, obj: XdsObject): Buffer {
  const type = typeOrThrow(typeUrl);
  const out: string[] = [];
  const label = String((obj as { name?: unknown; cluster_name?: unknown }).name ?? (obj as { cluster_name?: unknown }).cluster_name ?? fullName(type).split('.').pop());
  const converted = convertMessage(type, obj, label, out);
  if (out.length) throw new XdsCodecError('WEFT_ERR_XDS_INVALID_RESOURCE', out);
  return Buffer.from(type.encode(type.fromObject(converted)).finish());
}

// ---------- protobuf → object form ----------

type Msg = Record<string, unknown>;

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

function valueToJson(v: Msg): unknown {
  const n = vn();
  if (own(v, n.struct)) return structToJson(v[n.struct] as Msg);
  if (own(v, n.list)) return (((v[n.list] as Msg).values as Msg[]) ?? []).map(valueToJson);
  if (own(v, n.string)) return v[n.string];
  if (own(v, n.number)) return v[n.number];
  if (own(v, n.bool)) return v[n.bool];
  return null;
}
function structToJson(s: Msg): Record<string, unknown> {
  const res: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((s.fields as Record<string, Msg>) ?? {})) res[k] = valueToJson(v);
  return res;
}

function plainField(field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolve().resolvedType;
  if (rt instanceof protobuf.Type) return toPlain(rt, v as Msg);
  if (rt instanceof protobuf.Enum) return rt.valuesById[v as number] ?? v;
  if (v && typeof v === 'object' && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

function toPlain(type: protobuf.Type, msg: Msg): unknown {
  const name = fullName(type);
  if (name === STRUCT) return structToJson(msg);
  if (name === VALUE) return valueToJson(msg);
  if (name === LIST_VALUE) return ((msg.values as Msg[]) ?? []).map(valueToJson);
  if (name === ANY) {
    const url = msg.type_url as string;
    const inner = url ? lookupTypeUrl(url) : undefined;
    if (!inner) return { '@type': url, '@value': Buffer.from((msg.value as Uint8Array) ?? []).toString('base64') };
    return { '@type': url, ...(toPlain(inner, inner.decode(msg.value as Uint8Array) as unknown as Msg) as object) };
  }
  const res: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(msg, field.name)) continue;
    const v = msg[field.name];
    if (v === undefined || v === null) continue;
    if (field.map) {
      const entries = Object.entries(v as object);
      if (!entries.length) continue;
      res[field.name] = Object.fromEntries(entries.map(([k, x]) => [k, plainField(field, x)]));
    } else if (field.repeated) {
      if (!(v as unknown[]).length) continue;
      res[field.name] = (v as unknown[]).map((x) => plainField(field, x));
    } else {
      res[field.name] = plainField(field, v);
    }
  }
  return res;
}

/** Decodes resource bytes into the object form (only fields present on the wire; int64 as numbers). */
export function decodeResource(typeUrl: string, bytes: Uint8Array): XdsObject {
  const type = typeOrThrow(typeUrl);
  try {
    return toPlain(type, type.decode(bytes) as unknown as Msg) as XdsObject;
  } catch (e) {
    throw new XdsCodecError('WEFT_ERR_XDS_DECODE', [`${fullName(type)}: ${(e as Error).message}`]);
  }
}

/** The canonical object form of `obj` (encode then decode): numbers for int64, base64 for bytes. */
export function normalizeResource(typeUrl: string, obj: XdsObject): XdsObject {
  return decodeResource(typeUrl, encodeResource(typeUrl, obj));
}
