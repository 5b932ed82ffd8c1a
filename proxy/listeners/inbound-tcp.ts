/**
 * Which inbound TCP chain an opaque-TCP connection from another sidecar is for. Several service
 * ports share the sidecar's one inbound port and TCP has no headers, so the caller's sidecar names
 * the service port in the TLS SNI (`<port>.weft-tcp.invalid`), as HTTP callers do with `weft-port`.
 */
import type { TLSSocket } from 'node:tls';
import type { FilterChainConfig, ListenerConfig } from '../config/types';
import { peerOf } from '../http/peer';
import { dialTcp, relay, type ByteCounter } from '../transport/tcp';
import type { TcpAuthorize } from './tcp-authz';

/** Suffix of the SNI that names a service port (`.invalid` is reserved: it never resolves). */
export const TCP_SNI_SUFFIX = '.weft-tcp.invalid';

/** The SNI the outbound side sends for service port `port`. */
export function tcpServerName(port: number): string {
  return `${port}${TCP_SNI_SUFFIX}`;
}

/** The service port an SNI names, or undefined (no SNI, or not ours). */
export function servicePortOfServerName(name: string | false | null | undefined): number | undefined {
  if (typeof name !== 'string' || !name.endsWith(TCP_SNI_SUFFIX)) return undefined;
  const digits = name.slice(0, -TCP_SNI_SUFFIX.length);
  if (!/^[0-9]{1,5}$/.test(digits)) return undefined;
  const n = Number(digits);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The TCP chain of inbound listener `l` for a connection naming `servicePort` (from the SNI): the
 * chain whose `servicePort` matches; none when the chains declare service ports and none is this
 * one (the connection is closed, as an HTTP request naming an unknown `weft-port` gets no chain).
 * The first TCP chain when the caller sent no port, or when no chain declares one (config without
 * weft chain metadata): right whenever the workload has one TCP port.
 */
export function inboundTcpChain(l: ListenerConfig | undefined, servicePort: number | undefined): FilterChainConfig | undefined {
  const tcp = l?.chains.filter((c) => c.tcp) ?? [];
  if (servicePort === undefined || tcp.every((c) => c.servicePort === undefined)) return tcp[0];
  return tcp.find((c) => c.servicePort === servicePort);
}

/** Dependencies of `inboundTcpHandler`. */
export interface InboundTcpDeps {
  /** The current inbound listener. */
  readonly listener: () => ListenerConfig | undefined;
  /** The local app port a chain relays to (undefined: nowhere, the connection is closed). */
  readonly appPort: (chain: FilterChainConfig) => number | undefined;
  /** Decides the connection (`tcpAuthorizer`). @default every connection passes */
  readonly authorize?: TcpAuthorize;
  /** Called for each connection that has a chain (before authz, so denied ones count too). */
  readonly onConnection?: () => void;
  readonly count?: ByteCounter;
}

/**
 * The inbound side of opaque TCP from another sidecar (ALPN weft-tcp, after the mTLS handshake):
 * the chain its SNI names, then authorization with the client certificate's identity, then the
 * app. A connection without a chain or denied is closed before anything is dialled, so the app
 * never sees it.
 */
export function inboundTcpHandler(deps: InboundTcpDeps): (socket: TLSSocket) => void {
  return (socket) => {
    const l = deps.listener();
    const chain = inboundTcpChain(l, servicePortOfServerName(socket.servername));
    const port = chain && deps.appPort(chain);
    if (!chain || port === undefined) return void socket.destroy();
    deps.onConnection?.();
    if (deps.authorize && !deps.authorize(l, chain, peerOf(socket).identity).allowed) return void socket.destroy();
    dialTcp({ address: '127.0.0.1', port }).then(
      (up) => relay(socket, up, deps.count),
      () => socket.destroy(),
    );
  };
}
