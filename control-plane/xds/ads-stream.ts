/**
 * One ADS stream (state of the world). Per type: the subscription, the nonce and response in
 * flight, and what the client has applied. ACK/NACK is told by `error_detail`, stale nonces are
 * ignored, nothing is resent unless it changed, and a resource that an applied or in-flight route
 * or listener still references is held back (make-before-break), which also sidesteps grpc-js-xds's
 * delete-then-re-add-identical bug.
 */
import type { ClientKind } from '../../api/translate';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, TYPE_ORDER } from '../../api/xds/protos';
import type { SnapshotCache } from './cache';
import { LedgerEntry, NackLedger, parseNackErrors } from './ledger';
import { AdsMetrics } from './metrics';
import { ReaddGuard } from './readd';
import { Entry, mapVersion, REFERENCED_BY, versionOf } from './snapshot';
import type { ConnectedNode, DiscoveryRequest } from './wire';

interface Sent {
  readonly version: string;
  readonly nonce: string;
  readonly entries: Map<string, Entry>;
  readonly order: string[];
  answered: boolean;
  readonly at: number;
}

/** Per-type state of a stream (exposed read-only through the status API). */
export interface TypeState {
  names: Set<string>;
  wildcard: boolean;
  subscribed: boolean;
  nonce?: string;
  sent?: Sent;
  ackedVersion?: string;
  /** What the client runs now, by name (ACKed, or valid part of a NACKed response: gRFC A46). */
  readonly applied: Map<string, Entry>;
  lastError?: string;
}

/** What the stream needs from its server. */
export interface StreamDeps {
  readonly cache: SnapshotCache;
  readonly ledger: NackLedger;
  readonly metrics: AdsMetrics;
  readonly maxResponseBytes: number;
  readonly send: (typeUrl: string, version: string, nonce: string, entries: readonly Entry[]) => void;
  readonly identify: (req: DiscoveryRequest) => { node: ConnectedNode; client: ClientKind };
  readonly onConnected: (node: ConnectedNode) => void;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

const setEq = (a: Set<string>, b: readonly string[]) => a.size === new Set(b).size && b.every((x) => a.has(x));

/** The state machine of one ADS stream. */
export class AdsStream {
  node: ConnectedNode | undefined;
  client: ClientKind | undefined;
  readonly types = new Map<string, TypeState>();
  private nonces = 0;
  private readonly readd = new ReaddGuard();

  constructor(readonly id: number, private readonly deps: StreamDeps) {}

  /** Handles one DiscoveryRequest. Throws (to end the stream) only when the first request has no node. */
  onRequest(req: DiscoveryRequest): void {
    if (!this.node) {
      const who = this.deps.identify(req);
      this.node = who.node;
      this.client = who.client;
      this.deps.onConnected(who.node);
    }
    const t = req.type_url ?? '';
    if (!TYPE_ORDER.includes(t)) {
      this.deps.log('warn', `stream ${this.id}: ignoring unknown type ${t}`);
      return;
    }
    let ts = this.types.get(t);
    if (!ts) { ts = { names: new Set(), wildcard: false, subscribed: false, applied: new Map() }; this.types.set(t, ts); }
    const nonce = req.response_nonce ?? '';
    if (nonce && nonce !== ts.nonce) {
      this.deps.metrics.stale.inc({ type: AdsMetrics.type(t) });
      return; // stale: the next request on the current nonce repeats the full subscription
    }
    let answered = false;
    if (nonce && ts.sent && !ts.sent.answered && nonce === ts.sent.nonce) {
      this.answer(t, ts, req);
      answered = true;
    }
    const names = (req.resource_names ?? []).filter((n) => n !== '*');
    const sotwWildcardType = t === LISTENER || t === CLUSTER;
    const wildcard = sotwWildcardType && ((req.resource_names ?? []).includes('*') || (names.length === 0 && (!ts.subscribed || ts.wildcard)));
    const changed = !ts.subscribed || wildcard !== ts.wildcard || !setEq(ts.names, names);
    // Answer new subscriptions; a name merely dropped needs no response.
    const grew = !ts.subscribed || wildcard !== ts.wildcard || names.some((n) => !ts!.names.has(n));
    ts.subscribed = true;
    ts.wildcard = wildcard;
    ts.names = new Set(names);
    if (changed && !wildcard) for (const n of [...ts.applied.keys()]) if (!ts.names.has(n)) ts.applied.delete(n);
    if (grew) this.pushType(t, true);
    if (answered) this.pushAll(); // an ACK may release held resources of other types
  }

  private answer(t: string, ts: TypeState, req: DiscoveryRequest): void {
    const sent = ts.sent!;
    sent.answered = true;
    const label = { type: AdsMetrics.type(t) };
    this.deps.metrics.ackLatency.observe(label, (Date.now() - sent.at) / 1000);
    const error = req.error_detail?.message;
    if (error === undefined || req.error_detail === null) {
      // LDS/CDS are whole in state of the world: what the response lacks, the client deleted.
      if (ts.wildcard || t === LISTENER || t === CLUSTER) ts.applied.clear();
      for (const [n, e] of sent.entries) ts.applied.set(n, e);
      ts.ackedVersion = sent.version;
      ts.lastError = undefined;
      this.deps.ledger.answered(this.node!.id, this.id, t, sent.version, sent.entries, new Map());
      this.deps.metrics.acks.inc(label);
      return;
    }
    const perResource = parseNackErrors(error, sent.order);
    // A46: valid resources of a NACKed response are applied; the version echoes the new one then.
    const someApplied = perResource.size > 0 || req.version_info === sent.version;
    if (someApplied) for (const [n, e] of sent.entries) if (!perResource.has(n)) ts.applied.set(n, e);
    const errors = perResource.size ? perResource : new Map([...sent.entries.keys()].map((n) => [n, error] as const));
    ts.lastError = error;
    this.deps.ledger.answered(this.node!.id, this.id, t, sent.version, sent.entries, errors);
    this.deps.ledger.recordNack({ nodeId: this.node!.id, typeUrl: t, version: sent.version, nonce: sent.nonce, resources: [...perResource.keys()], error, at: new Date().toISOString() });
    this.deps.metrics.nacks.inc(label);
    this.deps.log('warn', `node ${this.node!.id} NACKed ${AdsMetrics.type(t)} version ${sent.version}: ${error}`);
  }

  /** Names of type `t` that an applied or in-flight resource of a referencing type still needs. */
  private held(t: string): Set<string> {
    const out = new Set<string>();
    for (const u of REFERENCED_BY[t] ?? []) {
      const us = this.types.get(u);
      if (!us) continue;
      for (const e of [...us.applied.values(), ...(us.sent?.entries.values() ?? [])]) for (const n of e.refs.get(t) ?? []) out.add(n);
    }
    return out;
  }

  private entriesFor(t: string, ts: TypeState): { entries: Entry[]; version: string } | undefined {
    const snap = this.client && this.deps.cache.get(this.client);
    if (!snap) return undefined;
    const cur = snap.get(t) ?? new Map<string, Entry>();
    const candidates = ts.wildcard ? new Set([...cur.keys(), ...(ts.sent?.entries.keys() ?? [])]) : ts.names;
    const held = this.held(t);
    const out: Entry[] = [];
    let fromCur = 0;
    for (const name of candidates) {
      const e = cur.get(name);
      if (e) { out.push(e); fromCur++; continue; }
      if (!held.has(name)) continue;
      const prev = ts.applied.get(name) ?? ts.sent?.entries.get(name);
      if (prev) out.push(prev);
    }
    // The whole type, nothing held: the version every such stream shares, computed once.
    const whole = fromCur === cur.size && out.length === cur.size;
    return { entries: out, version: whole ? mapVersion(cur) : versionOf(out) };
  }

  /** Sends type `t` if its content changed (or always, when `force`: the subscription changed). */
  pushType(t: string, force = false): void {
    const ts = this.types.get(t);
    if (!ts?.subscribed) return;
    const found = this.entriesFor(t, ts);
    if (!found) return;
    const guarded = this.client?.kind === 'proxyless' ? this.readd.apply(t, found.entries, ts.sent?.entries) : { entries: found.entries, swapped: false };
    const entries = guarded.entries;
    const version = guarded.swapped ? versionOf(entries) : found.version;
    if (!force && ts.sent && ts.sent.version === version) return;
    const overhead = 64 + t.length;
    const size = entries.reduce((n, e) => n + e.bytes.length + overhead, 0);
    let chunks: Entry[][] = [entries];
    if (size > this.deps.maxResponseBytes) {
      this.deps.metrics.oversize.inc({ type: AdsMetrics.type(t) });
      const splittable = t !== LISTENER && t !== CLUSTER && entries.every((e) => e.bytes.length + overhead <= this.deps.maxResponseBytes);
      if (!splittable) {
        ts.lastError = `response of ${entries.length} ${AdsMetrics.type(t)} resources is ${size} bytes, over the ${this.deps.maxResponseBytes}-byte budget; not sent (LDS/CDS cannot be split in state of the world)`;
        this.deps.log('error', `node ${this.node?.id}: ${ts.lastError}`);
        return;
      }
      chunks = [];
      let cur: Entry[] = [];
      let bytes = 0;
      for (const e of entries) {
        if (bytes + e.bytes.length + overhead > this.deps.maxResponseBytes && cur.length) { chunks.push(cur); cur = []; bytes = 0; }
        cur.push(e);
        bytes += e.bytes.length + overhead;
      }
      chunks.push(cur);
    }
    for (const chunk of chunks) {
      const nonce = String(++this.nonces);
      this.deps.send(t, version, nonce, chunk);
      ts.nonce = nonce;
      ts.sent = { version, nonce, entries: new Map(entries.map((e) => [e.name, e])), order: chunk.map((e) => e.name), answered: false, at: Date.now() };
      this.deps.metrics.responses.inc({ type: AdsMetrics.type(t) });
    }
  }

  /** Per-resource ledger view of this stream: NACKED (standing error for these bytes), ACKED (applied), or SENT. */
  ledgerEntries(): LedgerEntry[] {
    const node = this.node;
    if (!node) return [];
    const out: LedgerEntry[] = [];
    for (const [t, ts] of this.types) {
      const sent = ts.sent;
      if (!sent) continue;
      const at = new Date(sent.at).toISOString();
      for (const [name, e] of sent.entries) {
        const nack = this.deps.ledger.errorOf(node.id, t, name);
        if (nack && nack.hash === e.hash) { out.push(nack); continue; }
        const state = ts.applied.get(name)?.hash === e.hash ? 'ACKED' : 'SENT';
        out.push({ nodeId: node.id, streamId: this.id, typeUrl: t, name, state, hash: e.hash, version: sent.version, at });
      }
    }
    return out;
  }

  /** Pushes every subscribed type whose content changed, clusters and endpoints before listeners and routes. */
  pushAll(): void {
    for (const t of TYPE_ORDER) {
      // Listeners and routes wait until the clusters and endpoints they may use are answered.
      if ((t === LISTENER || t === ROUTE) && [CLUSTER, ENDPOINT].some((u) => this.inFlight(u))) return;
      this.pushType(t);
    }
  }

  private inFlight(t: string): boolean {
    const s = this.types.get(t)?.sent;
    return s !== undefined && !s.answered;
  }
}
