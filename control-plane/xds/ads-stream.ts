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
import { entryList, InternedNames, internNames, namesAreKeys, namesWithin, PlannedChunk, planResponse, referencedIn, sharedPlan } from './plan';
import { Entry, mapVersion, REFERENCED_BY, versionOf } from './snapshot';
import type { ConnectedNode, DiscoveryRequest } from './wire';

// Maps of entries (sent, applied) are never mutated once assigned: they are often the snapshot's own
// map, shared by every stream, and plan.ts memoizes per map. Changes replace them (copy on write).
interface Sent {
  readonly version: string;
  readonly nonce: string;
  readonly entries: ReadonlyMap<string, Entry>;
  readonly order: readonly string[];
  answered: boolean;
  readonly at: number;
}

/** Per-type state of a stream (exposed read-only through the status API). */
export interface TypeState {
  /** Subscribed names (an interned set, shared by streams with the same subscription: never mutated). */
  names: ReadonlySet<string>;
  /** resource_names of the last request as sent (interned; holding it keeps the shared entry alive). */
  raw?: InternedNames;
  wildcard: boolean;
  subscribed: boolean;
  nonce?: string;
  sent?: Sent;
  ackedVersion?: string;
  /** What the client runs now, by name (ACKed, or valid part of a NACKed response: gRFC A46). Replaced, never mutated. */
  applied: ReadonlyMap<string, Entry>;
  lastError?: string;
}

const EMPTY: ReadonlyMap<string, Entry> = new Map();

/** `a` updated with `b` (b wins); `b` itself when it already has every name of `a`. */
function merged(a: ReadonlyMap<string, Entry>, b: ReadonlyMap<string, Entry>): ReadonlyMap<string, Entry> {
  if (namesWithin(a, b)) return b;
  const m = new Map(a);
  for (const [n, e] of b) m.set(n, e);
  return m;
}

/** What the stream needs from its server. */
export interface StreamDeps {
  readonly cache: SnapshotCache;
  readonly ledger: NackLedger;
  readonly metrics: AdsMetrics;
  readonly maxResponseBytes: number;
  /**
   * Queues the response carrying `chunk` with a nonce above `after` (this stream's last of the type);
   * `shared` when the chunk belongs to a plan other streams use too. Returns the nonce.
   */
  readonly send: (typeUrl: string, version: string, chunk: PlannedChunk, after: number, shared: boolean) => number;
  readonly identify: (req: DiscoveryRequest) => { node: ConnectedNode; client: ClientKind };
  readonly onConnected: (node: ConnectedNode) => void;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

const setEq = (a: ReadonlySet<string>, b: readonly string[]) => a.size === new Set(b).size && b.every((x) => a.has(x));
const sameList = (a: readonly string[], b: readonly string[]) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** The state machine of one ADS stream. */
export class AdsStream {
  node: ConnectedNode | undefined;
  client: ClientKind | undefined;
  readonly types = new Map<string, TypeState>();
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
    if (!ts) { ts = { names: new Set(), wildcard: false, subscribed: false, applied: EMPTY }; this.types.set(t, ts); }
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
    const raw = req.resource_names ?? [];
    // The usual request (an ACK repeating the subscription): nothing to recompute.
    if (ts.subscribed && ts.raw && sameList(raw, ts.raw.list)) {
      if (answered) this.pushAll();
      return;
    }
    const names = raw.filter((n) => n !== '*');
    const sotwWildcardType = t === LISTENER || t === CLUSTER;
    const wildcard = sotwWildcardType && ((req.resource_names ?? []).includes('*') || (names.length === 0 && (!ts.subscribed || ts.wildcard)));
    const changed = !ts.subscribed || wildcard !== ts.wildcard || !setEq(ts.names, names);
    // Answer new subscriptions; a name merely dropped needs no response.
    const grew = !ts.subscribed || wildcard !== ts.wildcard || names.some((n) => !ts!.names.has(n));
    ts.subscribed = true;
    ts.wildcard = wildcard;
    const interned = internNames(raw);
    ts.raw = interned;
    // Shared by every stream with the same subscription, and kept by identity (the whole-type memo).
    if (changed) ts.names = names.length === raw.length ? interned.set : new Set(names);
    if (changed && !wildcard && [...ts.applied.keys()].some((n) => !ts!.names.has(n))) {
      ts.applied = new Map([...ts.applied].filter(([n]) => ts!.names.has(n)));
    }
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
      ts.applied = ts.wildcard || t === LISTENER || t === CLUSTER ? sent.entries : merged(ts.applied, sent.entries);
      ts.ackedVersion = sent.version;
      ts.lastError = undefined;
      this.deps.ledger.answered(this.node!.id, this.id, t, sent.version, sent.entries, new Map());
      this.deps.metrics.acks.inc(label);
      return;
    }
    const perResource = parseNackErrors(error, sent.order);
    // A46: valid resources of a NACKed response are applied; the version echoes the new one then.
    const someApplied = perResource.size > 0 || req.version_info === sent.version;
    if (someApplied) {
      const next = new Map(ts.applied);
      for (const [n, e] of sent.entries) if (!perResource.has(n)) next.set(n, e);
      ts.applied = next;
    }
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
      for (const n of referencedIn(us.applied, t)) out.add(n);
      if (us.sent) for (const n of referencedIn(us.sent.entries, t)) out.add(n);
    }
    return out;
  }

  /** Whether the stream is due exactly the whole snapshot map `cur` of its type (the shared fast path). */
  private coversWhole(ts: TypeState, cur: ReadonlyMap<string, Entry>): boolean {
    // Wildcard: candidates are cur ∪ what was sent; nothing to hold back when the sent names are all in cur.
    if (ts.wildcard) return !ts.sent || namesWithin(ts.sent.entries, cur);
    return namesAreKeys(ts.names, cur);
  }

  private entriesFor(t: string, ts: TypeState): { entries: readonly Entry[]; version: string; shared?: ReadonlyMap<string, Entry> } | undefined {
    const snap = this.client && this.deps.cache.get(this.client);
    if (!snap) return undefined;
    const cur = snap.get(t) ?? EMPTY;
    // The whole type, nothing held: entries, version and encoded bodies shared by every such stream.
    if (this.coversWhole(ts, cur)) return { entries: entryList(cur), version: mapVersion(cur), shared: cur };
    const candidates = ts.wildcard ? new Set([...cur.keys(), ...(ts.sent?.entries.keys() ?? [])]) : ts.names;
    let held: Set<string> | undefined;
    const out: Entry[] = [];
    for (const name of candidates) {
      const e = cur.get(name);
      if (e) { out.push(e); continue; }
      held ??= this.held(t);
      if (!held.has(name)) continue;
      const prev = ts.applied.get(name) ?? ts.sent?.entries.get(name);
      if (prev) out.push(prev);
    }
    return { entries: out, version: versionOf(out) };
  }

  /** Sends type `t` if its content changed (or always, when `force`: the subscription changed). */
  pushType(t: string, force = false): void {
    const ts = this.types.get(t);
    if (!ts?.subscribed) return;
    const found = this.entriesFor(t, ts);
    if (!found) return;
    let { entries, version, shared } = found;
    if (this.client?.kind === 'proxyless') {
      const guarded = this.readd.apply(t, entries, ts.sent?.entries);
      if (guarded.swapped) { entries = guarded.entries; version = versionOf(entries); shared = undefined; }
    }
    if (!force && ts.sent && ts.sent.version === version) return;
    const max = this.deps.maxResponseBytes;
    const splittable = t !== LISTENER && t !== CLUSTER;
    const plan = shared ? sharedPlan(t, shared, max, splittable) : planResponse(t, entries, max, splittable);
    if (plan.oversize) {
      this.deps.metrics.oversize.inc({ type: AdsMetrics.type(t) });
      if (!plan.chunks.length) {
        ts.lastError = `response of ${entries.length} ${AdsMetrics.type(t)} resources is ${plan.size} bytes, over the ${max}-byte budget; not sent (LDS/CDS cannot be split in state of the world)`;
        this.deps.log('error', `node ${this.node?.id}: ${ts.lastError}`);
        return;
      }
    }
    const map = shared ?? new Map(entries.map((e) => [e.name, e]));
    for (const chunk of plan.chunks) {
      const nonce = String(this.deps.send(t, version, chunk, Number(ts.nonce ?? 0), shared !== undefined));
      ts.nonce = nonce;
      ts.sent = { version, nonce, entries: map, order: chunk.order, answered: false, at: Date.now() };
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
