/** Config text for the benchmark's reference proxies (nginx, haproxy) and weft bootstraps, all on loopback. */
import type { Bootstrap } from '../../api/bootstrap';

/** Common nginx preamble: one process, no daemon, everything under `dir`. */
function nginxHead(dir: string, name: string): string {
  return `daemon off; master_process off; worker_processes 1; pid ${dir}/${name}.pid; error_log ${dir}/${name}.err warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${dir}/tmp-${name}; proxy_temp_path ${dir}/tmp-${name}; fastcgi_temp_path ${dir}/tmp-${name}; uwsgi_temp_path ${dir}/tmp-${name}; scgi_temp_path ${dir}/tmp-${name};
  keepalive_requests 1000000;`;
}

/** The app every case ends at: nginx answering 200 "ok". */
export function nginxApp(dir: string, port: number): string {
  return `${nginxHead(dir, 'app')}
  server { listen 127.0.0.1:${port}; location / { return 200 'ok'; } }
}`;
}

/** First nginx hop: plaintext in, mTLS out (pooled). */
export function nginxClient(dir: string, port: number, next: number): string {
  return `${nginxHead(dir, 'nclient')}
  upstream up { server 127.0.0.1:${next}; keepalive 64; }
  server { listen 127.0.0.1:${port};
    location / { proxy_pass https://up; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_ssl_certificate ${dir}/client.pem; proxy_ssl_certificate_key ${dir}/client.key;
      proxy_ssl_trusted_certificate ${dir}/ca.pem; proxy_ssl_verify on; proxy_ssl_name localhost; proxy_ssl_session_reuse on; } }
}`;
}

/** Second nginx hop: mTLS in (client certificate required), plaintext to the app. */
export function nginxServer(dir: string, port: number, app: number): string {
  return `${nginxHead(dir, 'nserver')}
  upstream app { server 127.0.0.1:${app}; keepalive 64; }
  server { listen 127.0.0.1:${port} ssl; ssl_certificate ${dir}/server.pem; ssl_certificate_key ${dir}/server.key;
    ssl_client_certificate ${dir}/ca.pem; ssl_verify_client on;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}`;
}

const haproxyHead = `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
`;

/** First haproxy hop: plaintext in, mTLS out. */
export function haproxyClient(dir: string, port: number, next: number): string {
  return `${haproxyHead}frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  server s1 127.0.0.1:${next} ssl crt ${dir}/client.combined.pem ca-file ${dir}/ca.pem verify required verifyhost localhost
`;
}

/** Second haproxy hop: mTLS in, plaintext to the app. */
export function haproxyServer(dir: string, port: number, app: number): string {
  return `${haproxyHead}frontend f
  bind 127.0.0.1:${port} ssl crt ${dir}/server.combined.pem ca-file ${dir}/ca.pem verify required
  default_backend b
backend b
  server app 127.0.0.1:${app}
`;
}

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const staticCluster = (name: string, port: number, identity?: string) => ({
  name, type: 'STATIC', lb_policy: 'ROUND_ROBIN',
  ...(identity ? { metadata: { filter_metadata: { weft: { identity } } } } : {}),
  load_assignment: { cluster_name: name, endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
});

/** The weft server sidecar: inbound (mTLS required) → the app. */
export function weftServer(idDir: string, app: number): Bootstrap {
  return {
    node: { id: 'backend-1', service: 'backend', namespace: 'default', version: 'v1', serviceAccount: 'backend' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: app } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'bench.local', required: true, staticDir: idDir },
    staticResources: {
      listeners: [{
        name: 'inbound', address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
        filter_chains: [{ name: 'inbound|http', filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM, stat_prefix: 'inbound|http', http_filters: [ROUTER],
          route_config: { name: 'inbound|http', virtual_hosts: [{ name: 'inbound|http', domains: ['*'], routes: [{ name: 'inbound|http', match: { prefix: '' }, route: { cluster: 'inbound|http' } }] }] },
        } }] }],
        metadata: { filter_metadata: { weft: { direction: 'inbound' } } },
      }],
      clusters: [staticCluster('inbound|http', app)],
    },
  };
}

/** The weft client sidecar: outbound `backend` → the server sidecar over mTLS. */
export function weftClient(idDir: string, serverInbound: number): Bootstrap {
  return {
    node: { id: 'web-1', service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1', interception: 'explicit',
    identity: { trustDomain: 'bench.local', required: true, staticDir: idDir },
    staticResources: {
      listeners: [{
        name: 'outbound', address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM, stat_prefix: 'outbound', http_filters: [ROUTER], rds: { route_config_name: 'outbound', config_source: { ads: {} } },
        } }] }],
        metadata: { filter_metadata: { weft: { direction: 'outbound' } } },
      }],
      routes: [{ name: 'outbound', virtual_hosts: [{ name: 'backend', domains: ['backend'], routes: [{ name: 'backend/default', match: { prefix: '/' }, route: { cluster: 'backend-v1' } }] }] }],
      clusters: [staticCluster('backend-v1', serverInbound, 'spiffe://bench.local/ns/default/sa/backend')],
    },
  };
}
