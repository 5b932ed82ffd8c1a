/**
 * Construct errors: every synth-time failure is a `WeftValidationError` with a stable code, the
 * construct path (as aws-cdk's ValidationError records it), the offending value and the fix.
 */
import { IConstruct } from 'constructs';
import { WeftError } from '../api/errors';

/** Every code a construct can throw, with what it means and how to fix it (docs/constructs.md renders this table). */
export const VALIDATION_CODES = {
  WEFT_ERR_INVALID_NAME: ['a name is not a DNS-1123 label', 'use lower-case letters, digits and "-", at most 63 characters'],
  WEFT_ERR_DUPLICATE_NAME: ['two things of one kind share a name (resource, port, version, route, Mesh)', 'rename one of them'],
  WEFT_ERR_INVALID_PROP: ['a prop has a value outside its domain (bad duration, port, method, count)', 'pass a value the TSDoc of the prop allows'],
  WEFT_ERR_MISSING_PROP: ['something required is missing (a port, an image, a protocol, a backend)', 'add the missing prop'],
  WEFT_ERR_INVALID_WEIGHT: ['route weights are negative, not integers, or do not sum to 100', 'make the weights of one route non-negative integers summing to 100'],
  WEFT_ERR_UNKNOWN_VERSION: ['a route or mirror names a version the service does not have', 'use one of the service\'s versions or add the version'],
  WEFT_ERR_UNKNOWN_SERVICE: ['a reference names a MeshService that is not in the app', 'create the MeshService or fix the reference'],
  WEFT_ERR_UNKNOWN_PORT: ['a route or policy names a port the service does not have', 'use a port name/number of the service'],
  WEFT_ERR_PROTOCOL_MISMATCH: ['an L7 (HTTP) feature is applied to a tcp port', 'declare the port http/http2/grpc or drop the L7 feature'],
  WEFT_ERR_ROUTE_CONFLICT: ['two CanaryRoutes route the same service port', 'merge them into one CanaryRoute or give each a distinct `port`'],
  WEFT_ERR_SHADOWED_MATCH: ['a route can never match because an earlier route matches everything it matches', 'move the more specific route first or remove it'],
  WEFT_ERR_RETRY_EXCEEDS_TIMEOUT: ['perTryTimeout × (attempts + 1) exceeds the route timeout, so the last tries can never run', 'raise the timeout, lower perTryTimeout or attempts'],
  WEFT_ERR_ZERO_REPLICAS: ['a route sends weight to a version with zero replicas', 'give the version replicas or send it weight 0'],
  WEFT_ERR_UNMESHED_CALLER: ['STRICT mTLS applies to a service that a declared caller without a sidecar calls', 'mesh the caller or make the callee (port) PERMISSIVE'],
  WEFT_ERR_RESERVED_PORT: ['a port collides with a port the proxy reserves (15001, 15006, 15020)', 'pick another port'],
  WEFT_ERR_UNKNOWN_IDENTITY: ['a policy rule names an identity (service, service account, namespace, principal) that is not in the mesh', 'fix the name or create the workload'],
  WEFT_ERR_INVALID_SCOPE: ['an MtlsPolicy scope contradicts itself (port without service, two namespaces)', 'scope it to mesh, namespace, service, or service+port'],
  WEFT_ERR_INVALID_STEP: ['canary steps are out of order or the route has no two-version split to step', 'use non-decreasing weights 0..100 on a route splitting two versions'],
  WEFT_ERR_MULTIPLE_MESHES: ['more than one Mesh in one app', 'create one Mesh and pass it to every construct'],
  WEFT_ERR_INVALID_RESOURCE: ['a synthesized custom resource fails its CRD schema (a bug or an escape hatch)', 'report it; the message lists each schema problem'],
  WEFT_ERR_INVALID_OTLP_ENDPOINT: ['a tracing otlpEndpoint is not an absolute http(s) URL (or carries credentials, a query or a fragment)', 'use the OTLP/HTTP base URL of the collector, e.g. http://otel-collector:4318'],
  WEFT_ERR_INVALID_SAMPLE_RATE: ['a tracing sampleRate is not a number in 0..1', 'use a probability such as 0.01 (1%) or 1 (every new trace)'],
  WEFT_ERR_UNTRANSLATABLE: ['the mesh cannot be translated into proxy config', 'read the cause; it names the resource the translator rejected'],
  WEFT_ERR_NO_MESH: ['a MeshService, CanaryRoute or MtlsPolicy is in an App that has no Mesh (its Mesh belongs to another App), so nothing validates or installs it', 'create the Mesh in this App, or Mesh.fromExisting() for a mesh another repository installs'],
  WEFT_ERR_SELF_CALL: ['a service declares a call to itself', 'drop the call; a service reaches itself in-process'],
  WEFT_ERR_STRICT_UNMESHED: ['a service- or port-scoped MtlsPolicy makes a service without a sidecar STRICT, which nothing can enforce', 'mesh the service or drop the STRICT mode for it'],
  WEFT_ERR_PROBE_INTERCEPTED: ['a kubelet probe targets a declared STRICT port, which the sidecar captures and where it refuses the plaintext probe', 'probe a port the service does not declare, use an exec probe, or make that port PERMISSIVE'],
  WEFT_ERR_SERVICE_NAME_CONFLICT: ['a plain Kubernetes Service has the name of a MeshService in the same namespace', 'rename one of them; the MeshService already synthesizes its Service'],
  WEFT_ERR_RETRY_AMPLIFICATION: ['retries multiply along a call path beyond the mesh\'s maxRetryAmplification (default 10)', 'retry at one layer only, lower attempts on a hop, or raise Mesh maxRetryAmplification'],
  WEFT_ERR_TIMEOUT_BUDGET: ['a caller\'s deadline (perTryTimeout, else timeout) is shorter than the time a callee\'s retries may take', 'make the callee\'s tries fit in the caller\'s deadline, or lengthen the caller\'s'],
  WEFT_ERR_RETRY_NON_IDEMPOTENT: ['a route that matches POST or PATCH retries on conditions that re-send a processed request', 'retry only on connect-failure/refused-stream, or set retries.idempotent: true'],
  WEFT_ERR_RETRY_CYCLE: ['the call graph has a cycle and a service in it retries', 'break the cycle or remove the retries inside it'],
  WEFT_ERR_CALL_DENIED: ['a call declared with calls() is denied by the authorization for every request', 'allow the caller in an MtlsPolicy on the callee, or drop the call'],
  WEFT_ERR_CANARY_CALLS_UNPOLICED: ['versions that share traffic call different services and no MtlsPolicy on the new callee names the caller', 'add an MtlsPolicy allowing the caller on that callee, or declare the call on every version'],
} as const;

/** Every warning the synth-time checks print (they do not fail synth), with meaning and fix. */
export const WARNING_CODES = {
  WEFT_WARN_UNREACHABLE: ['a service has no caller in the call graph and is not an ingress', 'declare its callers with calls(), or mark it `ingress: true`'],
  WEFT_WARN_RETRY_NON_IDEMPOTENT: ['a route taking any method retries on re-sending conditions and the authorization lets a caller send POST/PATCH', 'set retries.idempotent: true, retry only on connect-failure/refused-stream, or allow only idempotent methods'],
} as const;

/** A warning code. */
export type WarningCode = keyof typeof WARNING_CODES;

/** A construct validation code. */
export type ValidationCode = keyof typeof VALIDATION_CODES;

/** Details that make a message actionable. */
export interface ValidationDetails {
  /** The prop or field at fault (`split.v2`, `spec.routes[1]`). */
  readonly prop?: string;
  /** The offending value (rendered with JSON.stringify). */
  readonly value?: unknown;
  /** How to fix it; the code's generic fix when omitted. */
  readonly fix?: string;
}

const kValidation = Symbol.for('weft.constructs.validation-error');
const kErrors = Symbol('errors');

/** A synth-time error naming the construct that caused it. */
export class WeftValidationError extends WeftError {
  /** True for a WeftValidationError, even from another copy of this module. */
  public static isWeftValidationError(e: unknown): e is WeftValidationError {
    return WeftError.isWeftError(e) && (e as unknown as Record<symbol, unknown>)[kValidation] === true;
  }

  /** Construct path (`shop/reviews-canary`). */
  public readonly path: string;
  public readonly prop?: string;
  public readonly value?: unknown;
  public readonly fix: string;
  /**
   * Every problem found by the same check, this one first: a synth with several mistakes reports
   * them all at once (`[this]` for a single problem).
   */
  public get errors(): readonly WeftValidationError[] {
    return (this as unknown as { [kErrors]?: WeftValidationError[] })[kErrors] ?? [this];
  }

  /**
   * One error that carries all of `errors`: code, path, prop and fix of the first (so a caller that
   * switches on `code` still works) and a message listing each with its code, path and fix.
   */
  public static aggregate(errors: readonly WeftValidationError[]): WeftValidationError {
    if (errors.length === 1) return errors[0];
    const [first] = errors;
    const list = errors.map((e, i) => `  ${i + 1}) ${e.code} ${e.message}`).join('\n');
    const all = new WeftValidationError(first.code as ValidationCode, '', { node: { path: first.path } } as IConstruct, { prop: first.prop, value: first.value, fix: first.fix });
    Object.defineProperty(all, 'message', { value: `${errors.length} problems in the mesh:\n${list}`, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(all, kErrors, { value: [...errors] });
    // The frames would point into cdk8s' validation loop, not at any mistake: the list is the whole story.
    all.stack = `${all.name}: ${all.message}`;
    return all;
  }

  constructor(code: ValidationCode, message: string, scope: IConstruct, details: ValidationDetails = {}) {
    const fix = details.fix ?? VALIDATION_CODES[code][1];
    const where = details.prop ? ` (${details.prop}${'value' in details ? ` = ${show(details.value)}` : ''})` : '';
    super(code, `[${scope.node.path}] ${message}${where}. Fix: ${fix}`);
    this.name = 'WeftValidationError';
    this.path = scope.node.path;
    this.prop = details.prop;
    this.value = details.value;
    this.fix = fix;
    Object.defineProperty(this, kValidation, { value: true });
  }
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return String(v);
  }
}
