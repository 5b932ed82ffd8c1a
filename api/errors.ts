/**
 * The error hierarchy every part of weft shares: a stable `code` (`WEFT_ERR_*`) that tests and
 * callers switch on, and a message for people. Modelled on undici's `UND_ERR_*` codes.
 */

const kWeftError = Symbol.for('weft.error');

/** Base of every weft error. `code` is stable across releases; the message is not. */
export class WeftError extends Error {
  /** Stable machine-readable code, `WEFT_ERR_…`. */
  public readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WeftError';
    this.code = code;
    Object.defineProperty(this, kWeftError, { value: true });
  }

  /** True for any weft error, even from another copy of this module. */
  public static isWeftError(e: unknown): e is WeftError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[kWeftError] === true;
  }
}

/** A value failed a schema check. `path` is a JSON path into the value (`spec.routes[0].weight`). */
export class InvalidValueError extends WeftError {
  constructor(
    public readonly path: string,
    message: string,
    code = 'WEFT_ERR_INVALID_VALUE',
  ) {
    super(code, `${path}: ${message}`);
    this.name = 'InvalidValueError';
  }
}

/** Config (bootstrap, xDS, custom resource) was rejected whole; `problems` lists every reason. */
export class InvalidConfigError extends WeftError {
  constructor(
    public readonly what: string,
    public readonly problems: readonly string[],
  ) {
    super('WEFT_ERR_INVALID_CONFIG', `invalid ${what}: ${problems.join('; ')}`);
    this.name = 'InvalidConfigError';
  }
}
