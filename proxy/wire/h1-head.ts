/**
 * HTTP/1.1 message heads for the lean engine's app legs: parses one complete head (start line and
 * fields) with llhttp's strictness and decides the body framing (RFC 9112 §6) — refusing what
 * enables smuggling: CL with TE, a TE whose final coding is not chunked, TE on HTTP/1.0, a bad or
 * repeated Content-Length, duplicate or missing Host, obs-fold, whitespace before the colon.
 */
import { WeftError } from '../../api/errors';

/** Codes of H1Error; `status` is what a client gets for a bad request. */
export type H1ErrorCode =
  | 'WEFT_ERR_H1_BAD_START_LINE'
  | 'WEFT_ERR_H1_BAD_HEADER'
  | 'WEFT_ERR_H1_HEAD_TOO_LARGE'
  | 'WEFT_ERR_H1_BAD_FRAMING'
  | 'WEFT_ERR_H1_BAD_HOST'
  | 'WEFT_ERR_H1_BAD_CHUNK'
  | 'WEFT_ERR_H1_INCOMPLETE';

/** A malformed or over-limit HTTP/1.1 message; the connection cannot be reused after it. */
export class H1Error extends WeftError {
  constructor(code: H1ErrorCode, message: string, readonly status: 400 | 431 = code === 'WEFT_ERR_H1_HEAD_TOO_LARGE' ? 431 : 400) {
    super(code, message);
    this.name = 'H1Error';
  }
}

/** How the body of a message is delimited. */
export type BodyKind = 'none' | 'length' | 'chunked' | 'close' | 'tunnel';

/** A parsed head. `fields` is `[lower-case name, value, …]` in arrival order. */
export interface H1Head {
  readonly method: string;
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: 0 | 1;
  readonly status: number;
  readonly reason: string;
  readonly fields: string[];
  readonly keepAlive: boolean;
  readonly body: BodyKind;
  /** Body bytes when `body` is `length`. */
  readonly contentLength: number;
  /** A request asking to switch protocols (Upgrade, CONNECT), or a 101 response. */
  readonly upgrade: boolean;
}

/** Limits of a head (Envoy defaults, as proxy/http/limits.ts). */
export interface H1Limits {
  /** Start line + fields bytes; beyond → 431. @default 61440 */
  readonly maxHeadBytes: number;
  /** Fields; beyond → 431. @default 100 */
  readonly maxHeaders: number;
}

export const DEFAULT_H1_LIMITS: H1Limits = Object.freeze({ maxHeadBytes: 60 * 1024, maxHeaders: 100 });

const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;
const VALUE = new Uint8Array(256);
VALUE[9] = 1;
for (let b = 0x20; b <= 0xff; b++) if (b !== 0x7f) VALUE[b] = 1;

/** Parses header lines `[start, end)` of `buf` (each ends with CRLF) into `out`; returns the Host count. */
export function parseFieldLines(buf: Buffer, start: number, end: number, out: string[], limits: H1Limits): number {
  let hosts = 0;
  let p = start;
  while (p < end) {
    const eol = buf.indexOf(13, p);
    if (eol < 0 || eol >= end || buf[eol + 1] !== 10) throw new H1Error('WEFT_ERR_H1_BAD_HEADER', 'header line without CRLF');
    const first = buf[p];
    if (first === 32 || first === 9) throw new H1Error('WEFT_ERR_H1_BAD_HEADER', 'obsolete line folding');
    let c = p;
    while (c < eol && TOKEN[buf[c]] === 1) c++;
    if (c === p || c >= eol || buf[c] !== 58) throw new H1Error('WEFT_ERR_H1_BAD_HEADER', 'malformed header name (token, then ":" with no space)');
    let vs = c + 1;
    let ve = eol;
    while (vs < ve && (buf[vs] === 32 || buf[vs] === 9)) vs++;
    while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
    for (let i = vs; i < ve; i++) if (VALUE[buf[i]] !== 1) throw new H1Error('WEFT_ERR_H1_BAD_HEADER', 'control character in a header value');
    if (out.length / 2 >= limits.maxHeaders) throw new H1Error('WEFT_ERR_H1_HEAD_TOO_LARGE', `more than ${limits.maxHeaders} header fields`);
    const name = buf.toString('latin1', p, c).toLowerCase();
    if (name === 'host') hosts++;
    out.push(name, buf.toString('latin1', vs, ve));
    p = eol + 2;
  }
  return hosts;
}

const METHOD_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// request-target: visible ASCII only (no spaces, controls or raw non-ASCII)
const TARGET_RE = /^[\x21-\x7e]+$/;

/**
 * Parses a complete head `[start, end)` (without the final empty line's CRLF) of a request
 * (`request` true) or of a response to `method`.
 */
export function parseHead(buf: Buffer, start: number, end: number, request: boolean, method: string, limits: H1Limits): H1Head {
  const eol = buf.indexOf(13, start);
  if (eol < 0 || eol > end || buf[eol + 1] !== 10) throw new H1Error('WEFT_ERR_H1_BAD_START_LINE', 'start line without CRLF');
  const line = buf.toString('latin1', start, eol);
  let m = '';
  let target = '';
  let minor: 0 | 1;
  let status = 0;
  let reason = '';
  if (request) {
    const parts = line.split(' ');
    if (parts.length !== 3 || !METHOD_RE.test(parts[0]) || !TARGET_RE.test(parts[1])) throw new H1Error('WEFT_ERR_H1_BAD_START_LINE', 'malformed request line');
    m = parts[0];
    target = parts[1];
    minor = versionOf(parts[2]);
  } else {
    const match = /^(HTTP\/1\.[01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/.exec(line);
    if (!match) throw new H1Error('WEFT_ERR_H1_BAD_START_LINE', 'malformed status line');
    minor = versionOf(match[1]);
    status = Number(match[2]);
    reason = match[3] ?? '';
    m = method;
  }
  const fields: string[] = [];
  const hosts = parseFieldLines(buf, eol + 2, end, fields, limits);
  if (request && (hosts > 1 || (hosts === 0 && minor === 1))) throw new H1Error('WEFT_ERR_H1_BAD_HOST', hosts > 1 ? 'duplicate Host header' : 'missing Host header');
  return framing(m, target, minor, status, reason, fields, request);
}

function versionOf(v: string): 0 | 1 {
  if (v === 'HTTP/1.1') return 1;
  if (v === 'HTTP/1.0') return 0;
  throw new H1Error('WEFT_ERR_H1_BAD_START_LINE', `unsupported version ${JSON.stringify(v)}`);
}

/** RFC 9112 §6.3 with the smuggling rules. */
function framing(method: string, target: string, minor: 0 | 1, status: number, reason: string, fields: string[], request: boolean): H1Head {
  let te: string | undefined;
  let cl: string | undefined;
  let connection = '';
  let upgradeField = false;
  for (let i = 0; i < fields.length; i += 2) {
    const n = fields[i];
    if (n === 'transfer-encoding') te = te === undefined ? fields[i + 1] : `${te}, ${fields[i + 1]}`;
    else if (n === 'content-length') {
      if (cl !== undefined) throw new H1Error('WEFT_ERR_H1_BAD_FRAMING', 'more than one Content-Length');
      cl = fields[i + 1];
    } else if (n === 'connection') connection += `,${fields[i + 1].toLowerCase()}`;
    else if (n === 'upgrade') upgradeField = true;
  }
  const tokens = connection.split(',').map((s) => s.trim());
  const keepAlive = minor === 1 ? !tokens.includes('close') : tokens.includes('keep-alive');
  let contentLength = 0;
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) throw new H1Error('WEFT_ERR_H1_BAD_FRAMING', `bad Content-Length ${JSON.stringify(cl)}`);
    contentLength = Number(cl);
  }
  if (te !== undefined) {
    if (cl !== undefined) throw new H1Error('WEFT_ERR_H1_BAD_FRAMING', 'Content-Length with Transfer-Encoding');
    if (minor === 0) throw new H1Error('WEFT_ERR_H1_BAD_FRAMING', 'Transfer-Encoding on HTTP/1.0');
  }
  const chunked = te !== undefined && /(^|,)[ \t]*chunked[ \t]*$/i.test(te) && !/chunked[ \t]*,/i.test(te);
  const base = { method, target, minor, status, reason, fields, keepAlive, contentLength };
  if (request) {
    if (te !== undefined && !chunked) throw new H1Error('WEFT_ERR_H1_BAD_FRAMING', `unsupported transfer-encoding ${JSON.stringify(te)}`);
    const upgrade = method === 'CONNECT' || (upgradeField && tokens.includes('upgrade'));
    if (upgrade) return { ...base, body: 'tunnel', upgrade, contentLength: 0 };
    return { ...base, body: chunked ? 'chunked' : cl !== undefined && contentLength > 0 ? 'length' : 'none', upgrade };
  }
  if (status === 101) return { ...base, body: 'tunnel', upgrade: true, keepAlive: false, contentLength: 0 };
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return { ...base, body: 'none', upgrade: false, contentLength: 0 };
  if (method === 'CONNECT' && status < 300) return { ...base, body: 'tunnel', upgrade: true, keepAlive: false, contentLength: 0 };
  if (te !== undefined) return chunked ? { ...base, body: 'chunked', upgrade: false } : { ...base, body: 'close', upgrade: false, keepAlive: false };
  if (cl !== undefined) return { ...base, body: contentLength > 0 ? 'length' : 'none', upgrade: false };
  return { ...base, body: 'close', upgrade: false, keepAlive: false };
}

/** The first value of a (lower-case) field in `[name, value, …]`. */
export function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
