/**
 * Secrets stay secret. The control plane generates its CA key at run time, so no private key ever
 * belongs in a synthesized object, Pulumi state or a stack output: the stack refuses one outright.
 */
import { STACK_ERRORS, WeftStackError } from './errors';
import { KubeObject } from './objects';

/** Data keys that conventionally hold a private key (`tls.key`, `ca.key`, `key.pem`, `private-key`). */
const KEY_NAME = /(^|[._-])(key|private[._-]?key)(\.pem)?$|^key\.pem$/i;
const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

function decoded(value: string, base64: boolean): string {
  return base64 ? Buffer.from(value, 'base64').toString('latin1') : value;
}

/**
 * Throws WEFT_ERR_STACK_PRIVATE_KEY_MATERIAL when `o` is a Secret whose data carries a private key,
 * by key name or by PEM content. Empty Secrets (a place the control plane fills) are fine.
 */
export function assertNoKeyMaterial(o: KubeObject): void {
  if (o.kind !== 'Secret' || o.apiVersion !== 'v1') return;
  for (const [field, base64] of [['data', true], ['stringData', false]] as const) {
    const data = (o[field] ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(data)) {
      if (typeof value !== 'string' || value === '') continue;
      if (KEY_NAME.test(key) || PEM_PRIVATE.test(decoded(value, base64))) {
        throw new WeftStackError(
          STACK_ERRORS.PRIVATE_KEY_MATERIAL,
          `Secret ${o.metadata.namespace ?? ''}/${o.metadata.name} carries private key material in ${field}.${key}; ` +
            'the control plane generates its CA key at run time and proxies make their own, so remove it from the mesh definition',
        );
      }
    }
  }
}

/** Whether `o` has values Pulumi must store encrypted (every Secret's data). */
export function hasSensitiveData(o: KubeObject): boolean {
  return o.kind === 'Secret' && o.apiVersion === 'v1' && (o.data !== undefined || o.stringData !== undefined);
}
