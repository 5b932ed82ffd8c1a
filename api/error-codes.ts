/**
 * The one registry of weft's error codes: every `WEFT_ERR_…` any part throws, logs or sends, with
 * the part that raises it, what it means and how to fix it. docs/errors.md is generated from it
 * (`npm run docs:errors`); test/api/error-codes.test.ts fails on a code used but not listed here.
 */

/** The part of weft that raises a code. */
export type ErrorPart = 'api' | 'constructs' | 'control-plane' | 'proxy' | 'cli' | 'stacks' | 'image';

/** One registry entry. */
export interface ErrorCodeInfo {
  /** Which part raises it. */
  readonly part: ErrorPart;
  /** What happened, in one sentence. */
  readonly meaning: string;
  /** What the user does about it. */
  readonly fix: string;
  /** True when the code is a warning (logged, nothing refused). @default false */
  readonly warning?: boolean;
}

/**
 * Every code, one entry per line. To add one: append a line `WEFT_ERR_X: { part, meaning, fix },`
 * in its part's block (order does not matter), then run `npm run docs:errors`.
 */
export const ERROR_CODES = {
  // ── api: schemas, mesh rules, model building, translate, xDS codec, mayCall ──
  WEFT_ERR_INVALID_VALUE: { part: 'api', meaning: 'a value failed a schema check (the message names its JSON path)', fix: 'correct the value at the path named' },
  WEFT_ERR_INVALID_CONFIG: { part: 'api', meaning: 'a config (bootstrap, custom resource, metadata) was rejected whole; the message lists every problem', fix: 'correct each listed field' },
  WEFT_ERR_RANDOM_SEED: { part: 'api', meaning: '`WEFT_RANDOM_SEED` is not an integer in [0, 2^32)', fix: 'set a valid integer or unset it' },
  WEFT_ERR_LOG_LEVEL: { part: 'api', meaning: '`WEFT_LOG_LEVEL` is not a log level', fix: 'use trace, debug, info, warn, error, fatal or silent' },
  WEFT_ERR_INVALID_DURATION: { part: 'api', meaning: 'a duration is malformed', fix: 'write a duration such as "500ms", "2s" or "1m30s"' },
  WEFT_ERR_MODEL_CONTRADICTION: { part: 'api', meaning: 'a resource contradicts itself (hash without consistent-hash, header and cookie, backoff max < base, backends with a redirect, …)', fix: 'keep one of the contradicting settings' },
  WEFT_ERR_MODEL_DUPLICATE: { part: 'api', meaning: 'the control plane saw a second MeshConfig, or a duplicate service, port, version or backend', fix: 'rename or remove the duplicate' },
  WEFT_ERR_MODEL_INVALID_MATCH: { part: 'api', meaning: 'a route match is invalid (bad regex, two path or header matchers)', fix: 'give each route one valid path matcher and distinct header matchers' },
  WEFT_ERR_MODEL_INVALID_WEIGHTS: { part: 'api', meaning: 'the backends of a route do not sum to 100', fix: 'make the weights sum to 100' },
  WEFT_ERR_MODEL_RESERVED_PORT: { part: 'api', meaning: 'a service port is one the sidecar reserves (15001, 15006, 15020)', fix: 'pick another port' },
  WEFT_ERR_MODEL_UNKNOWN_PORT: { part: 'api', meaning: 'a CanaryRoute names a port the service lacks', fix: 'name a port of the service' },
  WEFT_ERR_MODEL_UNKNOWN_SERVICE: { part: 'api', meaning: 'a CanaryRoute, MtlsPolicy, call or policy source names a MeshService that does not exist (or was rejected)', fix: 'create the MeshService or fix the reference' },
  WEFT_ERR_MODEL_UNKNOWN_VERSION: { part: 'api', meaning: 'a backend or mirror names a version the service does not have', fix: 'use one of the service versions' },
  WEFT_ERR_TRANSLATE: { part: 'control-plane', meaning: 'translate() failed without a code of its own (a bug)', fix: 'report it with the message; the last good config stays' },
  WEFT_ERR_TRANSLATE_DUPLICATE_SERVICE: { part: 'api', meaning: 'the model holds one service twice', fix: 'remove the duplicate MeshService' },
  WEFT_ERR_TRANSLATE_INVALID_ENDPOINT: { part: 'api', meaning: 'an endpoint address is not an IP literal', fix: 'register the endpoint by IP address' },
  WEFT_ERR_TRANSLATE_INVALID_WEIGHTS: { part: 'api', meaning: 'the backend weights of a route sum to 0', fix: 'give at least one backend weight' },
  WEFT_ERR_TRANSLATE_NO_DEFAULT_ROUTE: { part: 'api', meaning: 'the last route of a service does not match every request', fix: 'end the routes with one that has no match' },
  WEFT_ERR_TRANSLATE_NO_PORTS: { part: 'api', meaning: 'a service has no ports', fix: 'declare at least one port' },
  WEFT_ERR_TRANSLATE_NO_VERSIONS: { part: 'api', meaning: 'a service has no versions', fix: 'declare at least one version' },
  WEFT_ERR_TRANSLATE_UNKNOWN_PORT: { part: 'api', meaning: 'a route names a port the service lacks', fix: 'name a port of the service' },
  WEFT_ERR_TRANSLATE_UNKNOWN_SERVICE: { part: 'api', meaning: 'a service calls a service that is not in the model', fix: 'create the called MeshService or fix calls()' },
  WEFT_ERR_TRANSLATE_UNKNOWN_VERSION: { part: 'api', meaning: 'a route names a version the service lacks', fix: 'name a version of the service' },
  WEFT_ERR_XDS_DECODE: { part: 'api', meaning: 'xDS bytes could not be decoded', fix: 'check that both sides use the same xDS v3 protos' },
  WEFT_ERR_XDS_INVALID_RESOURCE: { part: 'api', meaning: 'an xDS resource holds a field weft does not accept; the message lists every problem with its path', fix: 'correct the listed fields (the proxy NACKs and keeps its last good config)' },
  WEFT_ERR_XDS_UNKNOWN_TYPE: { part: 'api', meaning: 'an xDS type URL weft does not serve', fix: 'request LDS, RDS, CDS or EDS v3 types' },
  WEFT_ERR_XDS_METADATA: { part: 'api', meaning: 'the filter_metadata.weft Struct of an xDS resource does not match its schema (api/xds/metadata.ts); the resource is NACKed', fix: 'run control plane and proxy of one weft version; the message names each bad field' },
  WEFT_ERR_MAY_CALL_UNKNOWN_PORT: { part: 'api', meaning: 'mayCall() was asked about a port the service lacks', fix: 'ask about a port of the service' },
  WEFT_ERR_MAY_CALL_UNKNOWN_SERVICE: { part: 'api', meaning: 'mayCall() was asked about a service that is not in the mesh', fix: 'name a MeshService of the synthesized mesh' },

  // ── constructs and mesh rules (synth time and `weft check`); constructs/errors.ts VALIDATION_CODES ──
  WEFT_ERR_INVALID_NAME: { part: 'constructs', meaning: 'a name is not a DNS-1123 label', fix: 'use lower-case letters, digits and "-", at most 63 characters' },
  WEFT_ERR_DUPLICATE_NAME: { part: 'constructs', meaning: 'two things of one kind share a name (resource, port, version, route, Mesh)', fix: 'rename one of them' },
  WEFT_ERR_INVALID_PROP: { part: 'constructs', meaning: 'a prop has a value outside its domain (bad duration, port, method, count)', fix: 'pass a value the TSDoc of the prop allows' },
  WEFT_ERR_MISSING_PROP: { part: 'constructs', meaning: 'something required is missing (a port, an image, a protocol, a backend)', fix: 'add the missing prop' },
  WEFT_ERR_INVALID_WEIGHT: { part: 'constructs', meaning: 'route weights are negative, not integers, or do not sum to 100', fix: 'make the weights of one route non-negative integers summing to 100' },
  WEFT_ERR_UNKNOWN_VERSION: { part: 'constructs', meaning: 'a route or mirror names a version the service does not have', fix: "use one of the service's versions or add the version" },
  WEFT_ERR_UNKNOWN_SERVICE: { part: 'constructs', meaning: 'a reference names a MeshService that is not in the app', fix: 'create the MeshService or fix the reference' },
  WEFT_ERR_UNKNOWN_PORT: { part: 'constructs', meaning: 'a route or policy names a port the service does not have', fix: 'use a port name/number of the service' },
  WEFT_ERR_PROTOCOL_MISMATCH: { part: 'constructs', meaning: 'an L7 (HTTP) feature is applied to a tcp port', fix: 'declare the port http/http2/grpc or drop the L7 feature' },
  WEFT_ERR_ROUTE_CONFLICT: { part: 'constructs', meaning: 'two CanaryRoutes route the same service port', fix: 'merge them into one CanaryRoute or give each a distinct `port`' },
  WEFT_ERR_SHADOWED_MATCH: { part: 'constructs', meaning: 'a route can never match because an earlier route matches everything it matches', fix: 'move the more specific route first or remove it' },
  WEFT_ERR_RETRY_EXCEEDS_TIMEOUT: { part: 'constructs', meaning: 'perTryTimeout × (attempts + 1) exceeds the route timeout, so the last tries can never run', fix: 'raise the timeout, lower perTryTimeout or attempts' },
  WEFT_ERR_ZERO_REPLICAS: { part: 'constructs', meaning: 'a route sends weight to a version with zero replicas', fix: 'give the version replicas or send it weight 0' },
  WEFT_ERR_UNMESHED_CALLER: { part: 'constructs', meaning: 'STRICT mTLS applies to a service that a declared caller without a sidecar calls', fix: 'mesh the caller or make the callee (port) PERMISSIVE' },
  WEFT_ERR_RESERVED_PORT: { part: 'constructs', meaning: 'a port collides with a port the proxy reserves (15001, 15006, 15020)', fix: 'pick another port' },
  WEFT_ERR_UNKNOWN_IDENTITY: { part: 'constructs', meaning: 'a policy rule names an identity (service, service account, namespace, principal) that is not in the mesh', fix: 'fix the name or create the workload' },
  WEFT_ERR_INVALID_SCOPE: { part: 'constructs', meaning: 'an MtlsPolicy scope contradicts itself (port without service, two namespaces)', fix: 'scope it to mesh, namespace, service, or service+port' },
  WEFT_ERR_INVALID_STEP: { part: 'constructs', meaning: 'canary steps are out of order or the route has no two-version split to step', fix: 'use non-decreasing weights 0..100 on a route splitting two versions' },
  WEFT_ERR_MULTIPLE_MESHES: { part: 'constructs', meaning: 'more than one Mesh in one app', fix: 'create one Mesh and pass it to every construct' },
  WEFT_ERR_INVALID_RESOURCE: { part: 'constructs', meaning: 'a synthesized custom resource fails its CRD schema (a bug or an escape hatch)', fix: 'report it; the message lists each schema problem' },
  WEFT_ERR_UNTRANSLATABLE: { part: 'constructs', meaning: 'the mesh cannot be translated into proxy config', fix: 'read the cause; it names the resource the translator rejected' },
  WEFT_ERR_INVALID_OTLP_ENDPOINT: { part: 'constructs', meaning: "a tracing otlpEndpoint is not an absolute http(s) URL (or carries credentials, a query or a fragment)", fix: "use the OTLP/HTTP base URL of the collector, e.g. http://otel-collector:4318" },
  WEFT_ERR_INVALID_SAMPLE_RATE: { part: 'constructs', meaning: "a tracing sampleRate is not a number in 0..1", fix: "use a probability such as 0.01 (1%) or 1 (every new trace)" },
  WEFT_ERR_NO_MESH: { part: 'constructs', meaning: "a MeshService, CanaryRoute or MtlsPolicy is in an App that has no Mesh (its Mesh belongs to another App), so nothing validates or installs it", fix: "create the Mesh in this App, or Mesh.fromExisting() for a mesh another repository installs" },
  WEFT_ERR_SELF_CALL: { part: 'constructs', meaning: "a service declares a call to itself", fix: "drop the call; a service reaches itself in-process" },
  WEFT_ERR_STRICT_UNMESHED: { part: 'constructs', meaning: "a service- or port-scoped MtlsPolicy makes a service without a sidecar STRICT, which nothing can enforce", fix: "mesh the service or drop the STRICT mode for it" },
  WEFT_ERR_PROBE_INTERCEPTED: { part: 'constructs', meaning: "a kubelet probe targets a declared STRICT port, which the sidecar captures and where it refuses the plaintext probe", fix: "probe a port the service does not declare, use an exec probe, or make that port PERMISSIVE" },
  WEFT_ERR_SERVICE_NAME_CONFLICT: { part: 'constructs', meaning: "a plain Kubernetes Service has the name of a MeshService in the same namespace", fix: "rename one of them; the MeshService already synthesizes its Service" },
  WEFT_ERR_RETRY_AMPLIFICATION: { part: 'constructs', meaning: "retries multiply along a call path beyond the mesh's maxRetryAmplification (default 10)", fix: "retry at one layer only, lower attempts on a hop, or raise Mesh maxRetryAmplification" },
  WEFT_ERR_TIMEOUT_BUDGET: { part: 'constructs', meaning: "a caller's deadline (perTryTimeout, else timeout) is shorter than the time a callee's retries may take", fix: "make the callee's tries fit in the caller's deadline, or lengthen the caller's" },
  WEFT_ERR_RETRY_NON_IDEMPOTENT: { part: 'constructs', meaning: "a route that matches POST or PATCH retries on conditions that re-send a processed request", fix: "retry only on connect-failure/refused-stream, or set retries.idempotent: true" },
  WEFT_ERR_RETRY_CYCLE: { part: 'constructs', meaning: "the call graph has a cycle and a service in it retries", fix: "break the cycle or remove the retries inside it" },
  WEFT_ERR_CALL_DENIED: { part: 'constructs', meaning: "a call declared with calls() is denied by the authorization for every request", fix: "allow the caller in an MtlsPolicy on the callee, or drop the call" },
  WEFT_ERR_CANARY_CALLS_UNPOLICED: { part: 'constructs', meaning: "versions that share traffic call different services and no MtlsPolicy on the new callee names the caller", fix: "add an MtlsPolicy allowing the caller on that callee, or declare the call on every version" },
  WEFT_WARN_UNREACHABLE: { part: 'constructs', meaning: "a service has no caller in the call graph and is not an ingress", fix: "declare its callers with calls(), or mark it `ingress: true`", warning: true },
  WEFT_WARN_RETRY_NON_IDEMPOTENT: { part: 'constructs', meaning: "a route taking any method retries on re-sending conditions and the authorization lets a caller send POST/PATCH", fix: "set retries.idempotent: true, retry only on connect-failure/refused-stream, or allow only idempotent methods", warning: true },

  // ── control plane: sources, ADS, CA ──
  WEFT_ERR_SOURCE_MANIFEST: { part: 'control-plane', meaning: 'a manifest file could not be parsed; the last good resources stay', fix: 'fix the file named (and line)' },
  WEFT_ERR_CP_STATUS_FORBIDDEN: { part: 'control-plane', meaning: '`/status` was called from a non-loopback peer without the status token (403)', fix: 'use `kubectl port-forward`, or set `--status-token-file` and send `Authorization: Bearer <token>`' },
  WEFT_ERR_SOURCE_DIR: { part: 'control-plane', meaning: 'the manifest directory does not exist or cannot be read', fix: 'run `cdk8s synth` or pass the right directory' },
  WEFT_ERR_SOURCE_ENDPOINTS: { part: 'control-plane', meaning: 'the static endpoints file is not a JSON array of endpoints; the last good endpoints stay', fix: 'fix the file' },
  WEFT_ERR_SOURCE_REGISTER: { part: 'control-plane', meaning: 'a sidecar self-registration is malformed and was refused', fix: 'run sidecar and control plane of one weft version' },
  WEFT_ERR_SOURCE_STATUS_FILE: { part: 'control-plane', meaning: 'the local status file could not be written', fix: 'check the state directory is writable' },
  WEFT_ERR_K8S_WATCH: { part: 'control-plane', meaning: 'a Kubernetes list or watch failed; the informer restarts with backoff', fix: 'check the API server and the RBAC of the control plane' },
  WEFT_ERR_K8S_WATCH_STALE: { part: 'control-plane', meaning: 'a fresh list disagreed with the watch-fed cache; a fresh informer replaces it', fix: 'none needed; check API server health if it repeats' },
  WEFT_ERR_K8S_IDENTITY_MISMATCH: { part: 'control-plane', meaning: 'a meshed pod runs under another ServiceAccount than its MeshService; it is left out', fix: "run the pod under the MeshService's ServiceAccount" },
  WEFT_ERR_K8S_SYNC_TIMEOUT: { part: 'control-plane', meaning: 'the informers did not finish their first list in time', fix: 'check the API server, or raise syncTimeoutMs' },
  WEFT_ERR_K8S_STATUS: { part: 'control-plane', meaning: 'writing status.conditions failed; retried at the next verdict change', fix: 'grant the control plane patch on the status subresources' },
  WEFT_ERR_CP_USAGE: { part: 'control-plane', meaning: '`weft control-plane` got a bad flag value (exit 2)', fix: 'see `weft control-plane --help`' },
  WEFT_ERR_CP_MESH_CONFIG_MISSING: { part: 'control-plane', meaning: '`--mesh-config` names no MeshConfig (a warning; fatal with --ca-port)', fix: 'create the MeshConfig or fix the flag', warning: true },
  WEFT_ERR_CP_XDS_PLAINTEXT: { part: 'control-plane', meaning: 'ADS is served without TLS because there is no serving certificate', fix: 'pass --ca-port or --xds-tls-dir, or --xds-insecure to say so', warning: true },
  WEFT_ERR_CP_CA_ROOT_PUBLISH: { part: 'control-plane', meaning: 'the weft-ca-root ConfigMap could not be written to a namespace', fix: 'grant the control plane write access to ConfigMaps in meshed namespaces' },
  WEFT_ERR_XDS_ALREADY_LISTENING: { part: 'control-plane', meaning: 'the ADS server was started twice', fix: 'call listen() once' },
  WEFT_ERR_XDS_BIND: { part: 'control-plane', meaning: 'the ADS server could not listen on its address', fix: 'free the port or pick another with --port' },
  WEFT_ERR_XDS_NODE_IDENTITY_MISMATCH: { part: 'control-plane', meaning: 'a node claims a namespace, service account or service its client certificate does not name', fix: 'give the sidecar the bootstrap of its own workload' },
  WEFT_ERR_XDS_UNAUTHENTICATED: { part: 'control-plane', meaning: 'an ADS stream presented no client certificate verified by the mesh roots', fix: 'let the sidecar obtain a certificate first, or --xds-allow-unauthenticated while migrating' },
  WEFT_ERR_XDS_NODE_ID_TAKEN: { part: 'control-plane', meaning: 'the node id is held by an open stream of another identity', fix: 'give each sidecar a unique node id' },
  WEFT_ERR_XDS_BAD_SERVING_CERT: { part: 'control-plane', meaning: 'the serving certificate files (--xds-tls-dir) are missing or unusable', fix: 'put tls.crt and tls.key (and ca.crt) in the directory' },
  WEFT_ERR_CA_BAD_MATERIAL: { part: 'control-plane', meaning: 'the CA material is missing, unreadable or inconsistent', fix: 'provide a cert-manager style Secret (tls.crt, tls.key, ca.crt) whose key matches' },
  WEFT_ERR_CA_UNAUTHENTICATED: { part: 'control-plane', meaning: 'the CSR credential was missing, unknown, already used or rejected by TokenReview', fix: 'send a valid projected token (audience weft) or bootstrap token' },
  WEFT_ERR_CA_TOKEN_EXPIRED: { part: 'control-plane', meaning: 'the credential has expired', fix: 'use a fresh token' },
  WEFT_ERR_CA_NOT_A_WORKLOAD: { part: 'control-plane', meaning: 'the credential does not name a workload identity (not a ServiceAccount, wrong audience)', fix: "use the pod's projected ServiceAccount token" },
  WEFT_ERR_CA_BAD_CSR: { part: 'control-plane', meaning: 'the CSR could not be parsed or its signature does not verify', fix: 'send a PKCS#10 CSR signed by its key' },
  WEFT_ERR_CA_BAD_KEY: { part: 'control-plane', meaning: 'the CSR key is not ECDSA P-256/P-384', fix: 'generate an ECDSA P-256 key' },
  WEFT_ERR_CA_IDENTITY_MISMATCH: { part: 'control-plane', meaning: 'the CSR asks for another identity than the credential proves', fix: 'request the SPIFFE ID of the ServiceAccount that runs the workload' },
  WEFT_ERR_CA_KUBERNETES: { part: 'control-plane', meaning: 'the Kubernetes API (TokenReview, Secret) failed', fix: 'check the API server and the control plane RBAC' },
  WEFT_ERR_CA_CERT_EXPIRED: { part: 'control-plane', meaning: 'a certificate presented for renewal is expired or not yet valid', fix: 'renew with the token credential instead' },
  WEFT_ERR_CA_CERT_UNTRUSTED: { part: 'control-plane', meaning: "a certificate presented for renewal was not issued by this mesh's CA or names no workload", fix: 'renew with the token credential instead' },
  WEFT_ERR_CA_TRUST_ANCHOR_WRITE: { part: 'control-plane', meaning: 'the trust bundle could not be written where sidecars read it', fix: 'check the state directory is writable' },
  WEFT_ERR_CA_UNAVAILABLE: { part: 'proxy', meaning: 'the CA could not be reached, or answered something unusable', fix: 'check the CA address in the bootstrap and that the control plane runs' },
  WEFT_ERR_CA_INSECURE: { part: 'control-plane', meaning: 'the CA is served without TLS (--ca-insecure)', fix: 'drop --ca-insecure outside tests', warning: true },
  WEFT_ERR_CA_INTERNAL: { part: 'control-plane', meaning: 'the CA failed unexpectedly (a bug)', fix: 'report it with the message' },

  // ── proxy: request path (each also a `weft-error` reason, see WEFT_ERROR_REASONS) ──
  WEFT_ERR_TIMEOUT: { part: 'proxy', meaning: 'a route, stream or per-try deadline passed before the response headers (504)', fix: 'raise the timeout or make the upstream faster' },
  WEFT_ERR_NO_ENDPOINTS: { part: 'proxy', meaning: 'the cluster has no available endpoint (none known, or all ejected) (503)', fix: 'start instances of the version, or check outlier ejections' },
  WEFT_ERR_CLUSTER_NOT_FOUND: { part: 'proxy', meaning: 'a route names a cluster the config does not hold (503)', fix: 'wait for the config to converge; check `weft proxy-status` for NACKs' },
  WEFT_ERR_NO_ROUTE: { part: 'proxy', meaning: 'no virtual host or route matched the request (404)', fix: 'call a service by a name the mesh knows, or add a route' },
  WEFT_ERR_CIRCUIT_OPEN: { part: 'proxy', meaning: 'a circuit breaker (max requests/connections) is open (503)', fix: 'raise the connection pool limits or add capacity' },
  WEFT_ERR_OVERFLOW: { part: 'proxy', meaning: 'the pending queue of a cluster is full (503)', fix: 'raise maxPendingRequests or add capacity' },
  WEFT_ERR_OVERLOADED: { part: 'proxy', meaning: 'the proxy shed the request to protect itself (event-loop lag, heap) (503)', fix: 'give the sidecar more CPU/memory or spread load' },
  WEFT_ERR_RATE_LIMITED: { part: 'proxy', meaning: 'a local rate limit bucket is empty (429)', fix: 'slow down or raise the rate limit' },
  WEFT_ERR_DENIED: { part: 'proxy', meaning: 'an authorization policy denied the request (403)', fix: 'allow the caller in a policy (see the policy= in weft-error)' },
  WEFT_ERR_CONNECT_FAILURE: { part: 'proxy', meaning: 'the endpoint could not be connected to (502); nothing was sent', fix: 'check the app listens on its port' },
  WEFT_ERR_UPSTREAM_RESET: { part: 'proxy', meaning: 'the endpoint reset the stream before the response headers (502)', fix: 'check the app logs' },
  WEFT_ERR_CANCELLED: { part: 'proxy', meaning: 'the downstream cancelled the request', fix: 'none (the caller went away)' },
  WEFT_ERR_PROXY_INTERNAL: { part: 'proxy', meaning: 'a bug or unexpected failure inside the proxy (500)', fix: 'report it with the access log line' },
  WEFT_ERR_BAD_REQUEST: { part: 'proxy', meaning: 'the downstream request is malformed (400)', fix: 'send a valid HTTP request' },
  WEFT_ERR_HEADERS_TOO_LARGE: { part: 'proxy', meaning: 'the request has too many or too large headers (431)', fix: 'send fewer headers or raise the listener limit' },
  WEFT_ERR_WIRE_BAD_FRAME: { part: 'proxy', meaning: 'a weft/1 frame is malformed (bad SETTINGS, bad stream-id order); the connection is closed', fix: 'the peer is not weft/1 or has a bug; check both sidecars run one weft version' },
  WEFT_ERR_WIRE_FRAME_TOO_LARGE: { part: 'proxy', meaning: "a weft/1 frame is larger than the receiver's MAX_FRAME", fix: "split DATA by the peer's MAX_FRAME (a sender bug)" },
  WEFT_ERR_WIRE_BAD_HEADERS: { part: 'proxy', meaning: 'a weft/1 header block or its pseudo-fields are malformed', fix: 'fix the sender (a bug in the peer sidecar)' },
  WEFT_ERR_WIRE_HEADERS_TOO_LARGE: { part: 'proxy', meaning: 'a weft/1 header block is over the byte or field limit', fix: "send fewer or smaller headers, or raise the receiver's limit" },
  WEFT_ERR_WIRE_FLOW_CONTROL: { part: 'proxy', meaning: 'a weft/1 peer sent data beyond the granted credit, or a window above 2^31-1', fix: 'a sender bug; the connection is closed' },
  WEFT_ERR_WIRE_STREAM_LIMIT: { part: 'proxy', meaning: "a new weft/1 stream would exceed the peer's max concurrent streams", fix: 'dial another connection (the pool does this)' },
  WEFT_ERR_WIRE_GOAWAY: { part: 'proxy', meaning: 'a new weft/1 stream was opened on a draining connection', fix: 'dial a new connection; safe to retry' },
  WEFT_ERR_WIRE_REFUSED: { part: 'proxy', meaning: 'the weft/1 peer never processed the stream', fix: 'safe to retry' },
  WEFT_ERR_WIRE_RESET: { part: 'proxy', meaning: 'the weft/1 peer reset the stream (the wire code is on the error)', fix: 'see the wire code carried by the error' },
  WEFT_ERR_WIRE_CLOSED: { part: 'proxy', meaning: 'the weft/1 connection closed under an open stream', fix: 'retry only if nothing was sent' },
  WEFT_ERR_WIRE_STREAM_STATE: { part: 'proxy', meaning: "a local call the weft/1 stream's state forbids", fix: 'a caller bug in the proxy; report it' },
  WEFT_ERR_H1_BAD_START_LINE: { part: 'proxy', meaning: 'a malformed HTTP/1.1 request or status line (400)', fix: 'fix the client' },
  WEFT_ERR_H1_BAD_HEADER: { part: 'proxy', meaning: 'a bad HTTP/1.1 header: bad name, control character, bare LF, folded line, space before the colon (400)', fix: 'fix the client' },
  WEFT_ERR_H1_HEAD_TOO_LARGE: { part: 'proxy', meaning: 'an HTTP/1.1 head over 60 KiB or 100 fields (431)', fix: 'send fewer or smaller headers' },
  WEFT_ERR_H1_BAD_FRAMING: { part: 'proxy', meaning: 'an HTTP/1.1 message framing that can smuggle (CL with TE, non-final chunked, bad Content-Length) (400)', fix: 'send exactly one valid framing' },
  WEFT_ERR_H1_BAD_HOST: { part: 'proxy', meaning: 'a missing or duplicate Host header (400)', fix: 'send exactly one Host' },
  WEFT_ERR_H1_BAD_CHUNK: { part: 'proxy', meaning: 'a malformed chunked body (400)', fix: "fix the sender's chunked encoding" },
  WEFT_ERR_H1_INCOMPLETE: { part: 'proxy', meaning: 'the connection closed in the middle of an HTTP/1.1 message', fix: 'none: the peer went away; the exchange is failed' },
  WEFT_ERR_H1_CONNECT_FAILED: { part: 'proxy', meaning: 'the app could not be connected to (retryable)', fix: 'check the app listens on its declared port' },
  WEFT_ERR_H1_CONNECTION: { part: 'proxy', meaning: 'the app closed the connection in the middle of an exchange', fix: "check the app's logs" },
  WEFT_ERR_OVERLOAD_ENV: { part: 'proxy', meaning: '`WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS` is not a positive number', fix: 'set a positive number of milliseconds or unset it' },
  WEFT_ERR_UNSUPPORTED_TRANSFER_CODING: { part: 'proxy', meaning: 'the request uses a transfer coding other than chunked (e.g. `gzip, chunked`): 501 and the connection is closed', fix: 'send the body with `Transfer-Encoding: chunked` alone, or with `Content-Length`' },
  WEFT_ERR_BAD_PATH: { part: 'proxy', meaning: 'the request path is malformed (400)', fix: 'send a path starting with "/" without control characters' },
  WEFT_ERR_BAD_HEADER: { part: 'proxy', meaning: 'a header holds CR, LF or NUL, or a name contains "_" (400)', fix: 'send valid header names and values' },
  // ── proxy: identity, TLS, xDS client, bootstrap ──
  WEFT_ERR_TLS_PLAINTEXT_REFUSED: { part: 'proxy', meaning: 'plaintext arrived on a STRICT mTLS port', fix: 'mesh the caller or make the port PERMISSIVE' },
  WEFT_ERR_TLS_NO_PEER_CERT: { part: 'proxy', meaning: 'the peer sent no certificate where one is required', fix: 'mesh the caller' },
  WEFT_ERR_TLS_UNTRUSTED: { part: 'proxy', meaning: 'the peer certificate does not chain to the trust bundle (another CA)', fix: 'use one mesh CA, or add its root to the bundle' },
  WEFT_ERR_TLS_CERT_EXPIRED: { part: 'proxy', meaning: 'the peer certificate is expired or not yet valid', fix: 'check the peer renews its certificate and the clocks' },
  WEFT_ERR_TLS_BAD_PEER_IDENTITY: { part: 'proxy', meaning: 'the peer certificate has no single SPIFFE URI SAN in this trust domain', fix: 'issue workload certificates from the mesh CA' },
  WEFT_ERR_TLS_WRONG_IDENTITY: { part: 'proxy', meaning: 'the peer proved another identity than the destination expects', fix: "run the destination under its MeshService's ServiceAccount" },
  WEFT_ERR_TLS_NO_IDENTITY: { part: 'proxy', meaning: 'this proxy has no (unexpired) certificate, so mTLS fails closed', fix: 'check the CA is reachable (see the CA errors in the log)' },
  WEFT_ERR_TLS_HANDSHAKE: { part: 'proxy', meaning: 'the TLS handshake failed for another reason (protocol, cipher, reset, timeout)', fix: 'read the cause in the log' },
  WEFT_ERR_IDENTITY_BAD_CA_RESPONSE: { part: 'proxy', meaning: 'the CA answered a certificate this proxy cannot use; the current certificate stays', fix: 'run proxy and CA of one mesh (trust domain) and version' },
  WEFT_ERR_IDENTITY_CA_UNTRUSTED: { part: 'proxy', meaning: "the CA endpoint's certificate does not verify against the trust anchor; nothing was sent", fix: 'mount the weft-ca-root trust anchor of this mesh' },
  WEFT_ERR_IDENTITY_CA_WRONG_IDENTITY: { part: 'proxy', meaning: "the CA endpoint's certificate verifies but names another SPIFFE ID than the control plane's", fix: 'point the bootstrap at the weft control plane' },
  WEFT_ERR_XDS_UNTRUSTED: { part: 'proxy', meaning: "the xDS server's certificate does not chain to the trust anchor or name the address dialed", fix: 'mount the trust anchor of this mesh; dial the control plane by its service name' },
  WEFT_ERR_XDS_WRONG_IDENTITY: { part: 'proxy', meaning: "the xDS server's certificate carries another SPIFFE ID than the control plane's", fix: 'point the bootstrap at the weft control plane' },
  WEFT_ERR_XDS_TRUST_ANCHOR: { part: 'proxy', meaning: 'the xDS trust anchor file cannot be read or holds no certificate; nothing is dialed', fix: 'mount the weft-ca-root ConfigMap where the bootstrap says' },
  WEFT_ERR_XDS_UNAVAILABLE: { part: 'proxy', meaning: 'the xDS stream failed for another reason (server down, reset)', fix: 'check the control plane runs; the proxy keeps its last good config and reconnects' },
  WEFT_ERR_BOOTSTRAP_READ: { part: 'proxy', meaning: 'the proxy bootstrap file cannot be read', fix: 'pass the path of a readable bootstrap.json' },

  // ── cli ──
  WEFT_ERR_PROXY_STATUS_FORBIDDEN: { part: 'cli', meaning: 'the control plane refused `/status` (403), or `--token-file` is unreadable (exit 2)', fix: 'port-forward to the control plane, or pass `--token-file` with the status token' },
  WEFT_ERR_USAGE: { part: 'cli', meaning: 'a bad flag or argument (exit 2)', fix: 'see the command --help' },
  WEFT_ERR_UP_USAGE: { part: 'cli', meaning: 'a `weft up` entry got a bad argument (exit 2)', fix: 'see `weft up --help`' },
  WEFT_ERR_INIT_NOT_EMPTY: { part: 'cli', meaning: '`weft init` was pointed at a directory that is not empty', fix: 'give an empty or new directory' },
  WEFT_ERR_INIT_NO_TARBALL: { part: 'cli', meaning: '`weft init --from DIR` found no weft-mesh tarball in DIR', fix: 'run `npm run package -- DIR` first, or drop --from' },
  WEFT_ERR_INIT_INSTALL: { part: 'cli', meaning: '`npm install` failed in the new project', fix: 'fix the npm error printed above and run `npm install` again' },
  WEFT_ERR_RUNTIME_MISSING: { part: 'cli', meaning: 'a runtime command (up, proxy, control-plane, …) ran without weft-mesh-runtime installed (exit 2)', fix: '`npm install --save-dev weft-mesh-runtime`' },
  WEFT_ERR_UP_OBSERVABILITY: { part: 'cli', meaning: 'a bad `--trace-to` URL, a bad `--prometheus` port, or `--prometheus` without the prometheus binary (exit 2)', fix: 'fix the URL or port, or install Prometheus (`apt-get install prometheus`)' },
  WEFT_ERR_UP_APP: { part: 'cli', meaning: 'the app module could not be loaded or has no mesh function', fix: 'export a function building the mesh from the module passed' },
  WEFT_ERR_UP_SYNTH: { part: 'cli', meaning: 'synthesis threw (the cause is the construct error)', fix: 'fix the construct error shown' },
  WEFT_ERR_UP_NO_LOCAL_COMMAND: { part: 'cli', meaning: 'a version to run has no `local.command`', fix: 'give the version a local command' },
  WEFT_ERR_UP_EXPOSE: { part: 'cli', meaning: 'a --expose value is malformed or names an unknown service', fix: 'write --expose <service>=<port>' },
  WEFT_ERR_UP_CHILD: { part: 'cli', meaning: 'a child process (app, sidecar, control plane) exited or was not ready in time', fix: 'read the child log named in the message' },
  WEFT_ERR_UP_PORT: { part: 'cli', meaning: 'a port could not be bound', fix: 'free the port or choose another' },
  WEFT_ERR_UP_NETNS: { part: 'cli', meaning: '--netns needs Linux, root, `ip` and `iptables`', fix: 'run as root with iproute2 and iptables, or drop --netns' },
  WEFT_ERR_UP_NOT_RUNNING: { part: 'cli', meaning: 'no running mesh in the state directory', fix: 'start one with `weft up`' },
  WEFT_ERR_UP_UNKNOWN_PROXY: { part: 'cli', meaning: 'config-dump names an unknown proxy', fix: 'use a name `weft stat` lists' },
  WEFT_ERR_UP_CHANGE: { part: 'cli', meaning: 'a live change (weights) was refused', fix: 'read the reason; the running mesh is unchanged' },
  WEFT_ERR_CHECK_NO_DIST: { part: 'cli', meaning: '`weft check` was given a directory that does not exist (exit 2)', fix: 'run `cdk8s synth` first, or pass the manifests directory' },
  WEFT_ERR_CHECK_EMPTY: { part: 'cli', meaning: '`weft check` found no manifests in the directory (exit 2)', fix: 'pass the directory holding the .yaml files' },
  WEFT_ERR_CHECK_YAML: { part: 'cli', meaning: 'a manifest is not valid YAML', fix: 'fix the file at the line named' },
  WEFT_ERR_CHECK_NOT_A_RESOURCE: { part: 'cli', meaning: 'a document is not a Kubernetes object with apiVersion and kind', fix: 'remove or fix the document' },
  WEFT_ERR_CHECK_K8S_SCHEMA: { part: 'cli', meaning: 'a Kubernetes object fails its schema', fix: 'correct the field named' },
  WEFT_ERR_CHECK_UNKNOWN_FIELD: { part: 'cli', meaning: 'an object holds a field its kind does not have (the closest known one is named)', fix: 'correct the spelling' },
  WEFT_ERR_CHECK_UNKNOWN_KIND: { part: 'cli', meaning: 'a kind is neither a Kubernetes kind nor defined by a CRD in the directory', fix: 'add its CRD or fix apiVersion/kind' },
  WEFT_ERR_CHECK_NAME: { part: 'cli', meaning: 'a name the API server would refuse (missing or not DNS-1123)', fix: 'use a DNS-1123 name' },
  WEFT_ERR_CHECK_STALE_CRD: { part: 'cli', meaning: 'a weft CRD differs from what this weft version generates', fix: 're-run `cdk8s synth` with this weft version' },
  WEFT_ERR_CHECK_BOOTSTRAP: { part: 'cli', meaning: "a sidecar bootstrap ConfigMap holds a bootstrap the proxy's parser refuses", fix: 're-run `cdk8s synth`; correct the field named' },
  WEFT_ERR_CHECK_INTERNAL: { part: 'cli', meaning: 'the mesh rules failed unexpectedly (a bug)', fix: 'report it with the message' },
  WEFT_ERR_PROXY_STATUS_UNREACHABLE: { part: 'cli', meaning: '`weft proxy-status` could not reach the status endpoint (exit 2)', fix: 'pass the control plane status address' },
  WEFT_ERR_PROXY_STATUS_BAD_RESPONSE: { part: 'cli', meaning: '`weft proxy-status` got no valid status document (exit 2)', fix: 'point it at a weft control plane of this version' },
  WEFT_ERR_SELF_CHECK_FAILED: { part: 'cli', meaning: 'one or more `weft self-check` probes failed', fix: 'read the failed probe codes listed' },
  WEFT_ERR_SELF_CHECK_TIMEOUT: { part: 'cli', meaning: 'a self-check probe hung', fix: 'raise --timeout or read the probe name' },
  WEFT_ERR_SELF_CHECK_PROTOS: { part: 'cli', meaning: 'the xDS protos could not be loaded', fix: 'set WEFT_PROTO_DIR or --proto-dir to the protos directory' },
  WEFT_ERR_SELF_CHECK_KEYGEN: { part: 'cli', meaning: 'an ECDSA key or self-signed certificate could not be made', fix: 'check the Node.js build has WebCrypto and OpenSSL' },
  WEFT_ERR_SELF_CHECK_TLS: { part: 'cli', meaning: 'mutual TLS over loopback failed', fix: 'check the Node.js OpenSSL build' },
  WEFT_ERR_SELF_CHECK_HTTP: { part: 'cli', meaning: 'an HTTP/1.1 round trip over loopback failed', fix: 'check loopback networking' },
  WEFT_ERR_SELF_CHECK_HTTP2: { part: 'cli', meaning: 'an HTTP/2 round trip over mutual TLS failed', fix: 'check the Node.js http2 and OpenSSL build' },

  WEFT_ERR_EXPORT_TARGET: { part: 'api', meaning: 'exportMesh() or `weft export --to` names a target weft cannot export to (the command exits 2)', fix: 'use --to gateway-api or --to istio' },
  WEFT_ERR_EXPORT_UNSUPPORTED: { part: 'api', meaning: 'a weft feature the export target cannot express; listed as a warning, the rest is exported', fix: 'configure it in the target by hand, or accept the difference', warning: true },

  // ── stacks (Pulumi) ──
  WEFT_ERR_STACK_INVALID_OBJECT: { part: 'stacks', meaning: 'a synthesized object lacks apiVersion, kind or metadata.name', fix: 'fix the escape hatch that produced it' },
  WEFT_ERR_STACK_DUPLICATE_OBJECT: { part: 'stacks', meaning: 'two synthesized objects share group, kind, namespace and name', fix: 'rename one' },
  WEFT_ERR_STACK_DEPENDENCY_CYCLE: { part: 'stacks', meaning: 'the dependencies of the objects form a cycle', fix: 'remove one of the dependencies named' },
  WEFT_ERR_STACK_PRIVATE_KEY_MATERIAL: { part: 'stacks', meaning: 'a Secret would carry private key material', fix: 'let the control plane make its CA key; never put keys in the program' },
  WEFT_ERR_STACK_NO_BUILD: { part: 'stacks', meaning: 'WeftMesh got no `build` function', fix: 'pass `{ build: (chart) => myMesh(chart) }`' },
  WEFT_ERR_STACK_INVALID_CONFIG: { part: 'stacks', meaning: 'a `weft:*` stack config value has the wrong shape', fix: 'set it as the message says (pulumi config set --path)' },

  // ── image (image/build.sh) ──
  WEFT_ERR_IMAGE_LDD: { part: 'image', meaning: 'ldd listed no shared libraries for a binary to copy into the image (exit 1)', fix: 'build with a dynamically linked node and iptables, or check ldd works' },
  WEFT_ERR_IMAGE_TOOL: { part: 'image', meaning: 'a tool the image build needs (buildah, node, iptables) is missing (exit 3)', fix: 'install it (the message names the Debian package)' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** A registered code. Prefer it over `string` where a code is typed. */
export type WeftErrorCode = keyof typeof ERROR_CODES;

/** True when `code` is registered. */
export function isRegisteredCode(code: string): code is WeftErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** One `weft-error` reason token the proxy (or `weft up`) sends: status, code behind it, meaning. */
export interface ErrorReasonInfo {
  /** HTTP status of the response that carries it ('configured' for a fault). */
  readonly status: number | 'configured';
  /** The code behind it, when the reason comes from a coded error. */
  readonly code?: WeftErrorCode;
  readonly meaning: string;
}

/**
 * Every reason token of the `weft-error` response header (its first word). A new reason is one
 * line here; test/api/error-codes.test.ts fails on a reason the proxy sends that is not.
 */
export const WEFT_ERROR_REASONS = {
  timeout: { status: 504, code: 'WEFT_ERR_TIMEOUT', meaning: 'the route timeout passed before the response headers' },
  per_try_timeout: { status: 504, code: 'WEFT_ERR_TIMEOUT', meaning: 'the last try hit its per-try timeout' },
  stream_timeout: { status: 504, code: 'WEFT_ERR_TIMEOUT', meaning: 'max stream duration or grpc-timeout passed' },
  no_endpoints: { status: 503, code: 'WEFT_ERR_NO_ENDPOINTS', meaning: 'the cluster has no available endpoint' },
  cluster_not_found: { status: 503, code: 'WEFT_ERR_CLUSTER_NOT_FOUND', meaning: 'the route names a cluster the config lacks' },
  no_route: { status: 404, code: 'WEFT_ERR_NO_ROUTE', meaning: 'no virtual host or route matched' },
  circuit_open: { status: 503, code: 'WEFT_ERR_CIRCUIT_OPEN', meaning: 'a circuit breaker is open' },
  overflow: { status: 503, code: 'WEFT_ERR_OVERFLOW', meaning: 'the pending queue is full' },
  overloaded: { status: 503, code: 'WEFT_ERR_OVERLOADED', meaning: 'the proxy sheds load (event-loop lag, heap)' },
  rate_limited: { status: 429, code: 'WEFT_ERR_RATE_LIMITED', meaning: 'a local token bucket is empty' },
  denied: { status: 403, code: 'WEFT_ERR_DENIED', meaning: 'authorization denied' },
  connect_failure: { status: 502, code: 'WEFT_ERR_CONNECT_FAILURE', meaning: 'the endpoint could not be connected to' },
  upstream_reset: { status: 502, code: 'WEFT_ERR_UPSTREAM_RESET', meaning: 'the endpoint reset before the response headers' },
  cancelled: { status: 499, code: 'WEFT_ERR_CANCELLED', meaning: 'the downstream went away' },
  internal: { status: 500, code: 'WEFT_ERR_PROXY_INTERNAL', meaning: 'a bug in the proxy' },
  bad_request: { status: 400, code: 'WEFT_ERR_BAD_REQUEST', meaning: 'a malformed request' },
  headers_too_large: { status: 431, code: 'WEFT_ERR_HEADERS_TOO_LARGE', meaning: 'too many or too large headers' },
  bad_path: { status: 400, code: 'WEFT_ERR_BAD_PATH', meaning: 'a malformed path, or a backslash with `backslash: reject`' },
  unsupported_transfer_coding: { status: 501, code: 'WEFT_ERR_UNSUPPORTED_TRANSFER_CODING', meaning: 'a transfer coding other than chunked' },
  bad_header: { status: 400, code: 'WEFT_ERR_BAD_HEADER', meaning: 'a header with CR, LF, NUL or "_" in its name' },
  request_timeout: { status: 408, meaning: 'the request head did not arrive in time (HTTP/1.1 server)' },
  connect_unsupported: { status: 405, meaning: 'an HTTP/1.1 CONNECT tunnel was refused' },
  fault_abort: { status: 'configured', meaning: 'a fault policy aborted the request' },
  ingress_upstream: { status: 502, meaning: '`weft up` ingress could not reach the exposed service' },
} as const satisfies Record<string, ErrorReasonInfo>;

/** A registered `weft-error` reason token. */
export type WeftErrorReason = keyof typeof WEFT_ERROR_REASONS;
