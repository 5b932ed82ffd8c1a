/**
 * Where the CA's own certificate and key come from: a directory or Secret in cert-manager's
 * layout (tls.crt, tls.key, ca.crt), or a root generated once and persisted with owner-only
 * permissions. The key is never logged and never synthesized into manifests.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { CaMaterial } from './authority';
import { CA_ERRORS, CaError } from './errors';
import { generateRoot } from './pki';

/** File names of cert-manager's Secret layout. */
export const CA_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

const read = (path: string, required: boolean): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e });
  }
};

/** Reads tls.crt, tls.key and (optional) ca.crt from `dir` — a mounted cert-manager Secret or a local state dir. */
export function loadCaFromDirectory(dir: string): CaMaterial {
  return {
    tlsCrt: read(join(dir, CA_FILES.cert), true)!,
    tlsKey: read(join(dir, CA_FILES.key), true)!,
    caCrt: read(join(dir, CA_FILES.ca), false),
  };
}

/** Writes `m` into `dir` (created 0700) with every file 0600, each through a temp file and rename. */
export function writeCaDirectory(dir: string, m: CaMaterial): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (name: string, data: string) => {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, data, { mode: 0o600, flag: 'w' });
    chmodSync(tmp, 0o600); // umask cannot widen it, but an existing tmp could have other bits
    renameSync(tmp, join(dir, name));
  };
  // Key first, cert last: a reader that sees tls.crt also sees the matching tls.key.
  put(CA_FILES.key, m.tlsKey);
  if (m.caCrt) put(CA_FILES.ca, m.caCrt);
  put(CA_FILES.cert, m.tlsCrt);
}

/**
 * Loads the CA from `dir`, or generates an ECDSA P-256 root there on first use (state directory
 * of `weft up`). `created` says which happened.
 */
export async function loadOrCreateLocalCa(dir: string, trustDomain: string): Promise<{ material: CaMaterial; created: boolean }> {
  if (existsSync(join(dir, CA_FILES.cert))) return { material: loadCaFromDirectory(dir), created: false };
  const root = await generateRoot({ trustDomain });
  const material: CaMaterial = { tlsCrt: root.certPem, tlsKey: root.keyPem, caCrt: root.certPem };
  writeCaDirectory(dir, material);
  return { material, created: true };
}

/** A Secret as far as the CA cares (the shape of client-node's V1Secret). */
export interface SecretLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly type?: string;
  readonly data?: Readonly<Record<string, string>>;
}

/** Decodes a cert-manager style Secret (base64 `data`). WEFT_ERR_CA_BAD_MATERIAL when tls.crt or tls.key is missing. */
export function caMaterialFromSecret(secret: SecretLike): CaMaterial {
  const d = secret.data ?? {};
  const dec = (k: string) => (d[k] === undefined ? undefined : Buffer.from(d[k], 'base64').toString('utf8'));
  const tlsCrt = dec(CA_FILES.cert);
  const tlsKey = dec(CA_FILES.key);
  const where = `Secret ${secret.metadata?.namespace ?? '?'}/${secret.metadata?.name ?? '?'}`;
  if (!tlsCrt || !tlsKey) throw new CaError(CA_ERRORS.BAD_CA_MATERIAL, `${where} lacks ${!tlsCrt ? 'tls.crt' : 'tls.key'}`);
  return { tlsCrt, tlsKey, caCrt: dec(CA_FILES.ca) };
}

/** Encodes `m` as a `kubernetes.io/tls` Secret in cert-manager's layout. */
export function caMaterialToSecret(namespace: string, name: string, m: CaMaterial): SecretLike & { apiVersion: string; kind: string } {
  const enc = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: { [CA_FILES.cert]: enc(m.tlsCrt), [CA_FILES.key]: enc(m.tlsKey), ...(m.caCrt ? { [CA_FILES.ca]: enc(m.caCrt) } : {}) },
  };
}

/** A running CA-material watch; `close()` stops it. */
export interface CaMaterialWatch {
  close(): void;
}

/**
 * Re-reads the CA material every `intervalMs` (a mounted Secret changes in place when cert-manager
 * renews it) and hands changed material to `onChange` — typically `ca.rotateSigner`, which keeps
 * the old roots trusted. A read or validation failure keeps the current signer and is reported.
 */
export function watchCaMaterial(
  load: () => CaMaterial | Promise<CaMaterial>,
  onChange: (m: CaMaterial) => Promise<void>,
  opts: { intervalMs?: number; onError?: (e: unknown) => void; initial?: CaMaterial } = {},
): CaMaterialWatch {
  let last = opts.initial ? opts.initial.tlsCrt + opts.initial.caCrt : undefined;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        const m = await load();
        const key = m.tlsCrt + m.caCrt;
        if (key !== last) {
          await onChange(m);
          last = key;
        }
      } catch (e) {
        opts.onError?.(e);
      } finally {
        busy = false;
      }
    })();
  }, opts.intervalMs ?? 60_000);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
