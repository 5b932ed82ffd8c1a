/**
 * Envoy v3 protos, loaded once from the copies that ship inside @grpc/grpc-js-xds (`deps/`), so the
 * control plane, the proxy and the client we test against all read the very same definitions.
 */
import * as path from 'path';
import * as protobuf from 'protobufjs';

/** Type URL of a Listener (LDS). */
export const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
/** Type URL of a RouteConfiguration (RDS). */
export const ROUTE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
/** Type URL of a Cluster (CDS). */
export const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
/** Type URL of a ClusterLoadAssignment (EDS). */
export const ENDPOINT = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** The four resource types in make-before-break push order (clusters, endpoints, listeners, routes). */
export const TYPE_ORDER: readonly string[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE];

/** Type URLs of the extension messages weft emits inside `typed_config` / `typed_per_filter_config`. */
export const TYPES = {
  HCM: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  ROUTER: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  FAULT: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  RBAC: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  RBAC_PER_ROUTE: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  NETWORK_RBAC: 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
  TCP_PROXY: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  UPSTREAM_TLS: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  DOWNSTREAM_TLS: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
} as const;

const PROTO_FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/service/discovery/v3/ads.proto',
];

/** Directories the Envoy protos import from, inside the installed @grpc/grpc-js-xds. */
export function protoIncludeDirs(): string[] {
  // The OCI image has no node_modules: image/build.sh ships the same trees under WEFT_PROTO_DIR.
  const shipped = process.env.WEFT_PROTO_DIR;
  if (shipped) return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate', 'protobufjs'].map((d) => path.join(shipped, d));
  const pkg = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const dirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(pkg, 'deps', d));
  // google/protobuf/descriptor.proto (imported by the validate and udpa annotations) ships with protobufjs.
  dirs.push(path.dirname(require.resolve('protobufjs/package.json')));
  return dirs;
}

let root: protobuf.Root | undefined;

/**
 * The packed `weft-mesh` ships these same definitions as one JSON descriptor (written at build
 * time by package/build.ts from {@link loadProtoFiles}), so installing the constructs does not
 * need @grpc/grpc-js-xds (19 MB with its dependencies). From the sources it is absent.
 */
export const PREBUILT_DESCRIPTOR = path.join(__dirname, 'envoy-protos.json');

/** Loads PROTO_FILES from the .proto trees (`protoIncludeDirs()`), unresolved. */
export function loadProtoFiles(): protobuf.Root {
  const dirs = protoIncludeDirs();
  const fs = require('fs') as typeof import('fs');
  const r = new protobuf.Root();
  r.resolvePath = (_origin: string, target: string): string | null => {
    for (const d of dirs) {
      const p = path.join(d, target);
      if (fs.existsSync(p)) return p;
    }
    return target;
  };
  r.loadSync(PROTO_FILES, { keepCase: true });
  return r;
}

/** The protobufjs root holding every Envoy type weft uses (snake_case field names: keepCase). */
export function protoRoot(): protobuf.Root {
  if (root) return root;
  const fs = require('fs') as typeof import('fs');
  const r = !process.env.WEFT_PROTO_DIR && fs.existsSync(PREBUILT_DESCRIPTOR)
    ? protobuf.Root.fromJSON(JSON.parse(fs.readFileSync(PREBUILT_DESCRIPTOR, 'utf8')) as protobuf.INamespace)
    : loadProtoFiles();
  r.resolveAll();
  root = r;
  return r;
}

/** The message type a type URL names (`type.googleapis.com/<full.name>`); undefined when unknown. */
export function lookupTypeUrl(typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  if (typeCache.has(name)) return typeCache.get(name);
  let t: protobuf.Type | undefined;
  try {
    t = protoRoot().lookupType(name);
  } catch {
    t = undefined;
  }
  typeCache.set(name, t);
  return t;
}

const typeCache = new Map<string, protobuf.Type | undefined>();
