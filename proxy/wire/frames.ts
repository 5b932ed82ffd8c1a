/**
 * `weft/1` constants shared by the codec and the session: frame types, flags, wire error codes,
 * settings with their defaults (which are also floors), and the coded WireError.
 * The protocol is specified in docs/proxy-protocol.md.
 */
import { WeftError } from '../../api/errors';

/** ALPN id of the protocol; a server without it selects `h2` instead. */
export const WEFT_ALPN = 'weft/1';

/** Bytes in a frame header: u24 length, u8 type, u8 flags, u32 stream id. */
export const FRAME_HEAD = 9;

/** Frame types. */
export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  TRAILERS: 2,
  RESET: 3,
  WINDOW: 4,
  PING: 5,
  GOAWAY: 6,
  SETTINGS: 7,
} as const;

/** `END_STREAM` on DATA, HEADERS, TRAILERS; `ACK` on PING. */
export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;

/** Codes carried by RESET and GOAWAY. */
export const WireCode = {
  NO_ERROR: 0,
  PROTOCOL: 1,
  FLOW_CONTROL: 2,
  FRAME_SIZE: 3,
  REFUSED: 4,
  CANCEL: 5,
  INTERNAL: 6,
  HEADERS_TOO_LARGE: 7,
} as const;

/** Largest window and credit increment (2³¹−1). */
export const MAX_WINDOW = 0x7fffffff;
/** Largest debug text in GOAWAY. */
export const MAX_GOAWAY_DEBUG = 256;

/** What one side accepts; sent in its SETTINGS frame. */
export interface WireSettings {
  /** Largest frame payload accepted. @default 65536 */
  readonly maxFrame: number;
  /** Largest header block accepted (bytes). @default 65536 */
  readonly maxHeaderBlock: number;
  /** Most fields in one header block, pseudo-fields included. @default 128 */
  readonly maxHeaderFields: number;
  /** Most concurrently open streams accepted. @default 256 */
  readonly maxConcurrentStreams: number;
  /** Credit each new stream starts with (bytes of DATA). @default 262144 */
  readonly initialStreamWindow: number;
  /** Credit of the whole connection at start. @default 1048576 */
  readonly initialConnectionWindow: number;
}

/** The defaults, which are also the floors: SETTINGS may only raise them. */
export const DEFAULT_SETTINGS: WireSettings = Object.freeze({
  maxFrame: 65_536,
  maxHeaderBlock: 65_536,
  maxHeaderFields: 128,
  maxConcurrentStreams: 256,
  initialStreamWindow: 262_144,
  initialConnectionWindow: 1_048_576,
});

/** Settings ids on the wire, in the order of docs/proxy-protocol.md, with their maxima. */
export const SETTING_IDS: readonly (readonly [number, keyof WireSettings, number])[] = [
  [1, 'maxFrame', 0xffffff],
  [2, 'maxHeaderBlock', 0xffffff],
  [3, 'maxHeaderFields', 1024],
  [4, 'maxConcurrentStreams', 65_536],
  [5, 'initialStreamWindow', MAX_WINDOW],
  [6, 'initialConnectionWindow', MAX_WINDOW],
];

/** Every code a WireError may carry (docs/proxy-protocol.md, "Errors"). */
export type WireErrorCode =
  | 'WEFT_ERR_WIRE_BAD_FRAME'
  | 'WEFT_ERR_WIRE_FRAME_TOO_LARGE'
  | 'WEFT_ERR_WIRE_BAD_HEADERS'
  | 'WEFT_ERR_WIRE_HEADERS_TOO_LARGE'
  | 'WEFT_ERR_WIRE_FLOW_CONTROL'
  | 'WEFT_ERR_WIRE_STREAM_LIMIT'
  | 'WEFT_ERR_WIRE_GOAWAY'
  | 'WEFT_ERR_WIRE_REFUSED'
  | 'WEFT_ERR_WIRE_RESET'
  | 'WEFT_ERR_WIRE_CLOSED'
  | 'WEFT_ERR_WIRE_STREAM_STATE';

/** The wire code a connection error of each kind is reported with in GOAWAY. */
const WIRE_CODE_OF: Partial<Record<WireErrorCode, number>> = {
  WEFT_ERR_WIRE_BAD_FRAME: WireCode.PROTOCOL,
  WEFT_ERR_WIRE_FRAME_TOO_LARGE: WireCode.FRAME_SIZE,
  WEFT_ERR_WIRE_BAD_HEADERS: WireCode.PROTOCOL,
  WEFT_ERR_WIRE_HEADERS_TOO_LARGE: WireCode.HEADERS_TOO_LARGE,
  WEFT_ERR_WIRE_FLOW_CONTROL: WireCode.FLOW_CONTROL,
  WEFT_ERR_WIRE_REFUSED: WireCode.REFUSED,
};

/** A `weft/1` failure: a malformed frame, a limit, or a stream that ended abnormally. */
export class WireError extends WeftError {
  /** The code sent (or received) on the wire in RESET/GOAWAY. */
  readonly wireCode: number;
  constructor(code: WireErrorCode, message: string, wireCode?: number) {
    super(code, message);
    this.name = 'WireError';
    this.wireCode = wireCode ?? WIRE_CODE_OF[code] ?? WireCode.INTERNAL;
  }
}

/** True for a WireError (from any copy of this module). */
export function isWireError(e: unknown): e is WireError {
  return WeftError.isWeftError(e) && e.code.startsWith('WEFT_ERR_WIRE_');
}
