/**
 * Publishes the mesh's trust bundle as the ConfigMap `weft-ca-root` (key `root-cert.pem`) in every
 * meshed namespace, as istiod does with `istio-ca-root-cert`: sidecars mount it and verify the CA
 * endpoint with it before they hold a certificate. Written on change, resynced periodically.
 */
import { WeftError } from '../../api/errors';

/** Name of the ConfigMap and its one key (what the constructs mount into each sidecar). */
export const CA_ROOT_CONFIGMAP = { name: 'weft-ca-root', key: 'root-cert.pem' } as const;

/** A ConfigMap as far as the publisher cares (the shape of client-node's V1ConfigMap). */
export interface ConfigMapLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  data?: Record<string, string>;
}

/** The ConfigMap calls of client-node's CoreV1Api (object-parameter API). */
export interface ConfigMapApi {
  readNamespacedConfigMap(p: { name: string; namespace: string }): Promise<ConfigMapLike>;
  createNamespacedConfigMap(p: { namespace: string; body: ConfigMapLike }): Promise<ConfigMapLike>;
  replaceNamespacedConfigMap(p: { name: string; namespace: string; body: ConfigMapLike }): Promise<ConfigMapLike>;
}

/** Props of a CaRootPublisher. */
export interface CaRootPublisherProps {
  readonly api: ConfigMapApi;
  /** The namespaces to publish into (e.g. those holding MeshServices), asked at every pass. */
  readonly namespaces: () => Iterable<string>;
  /** The current trust bundle (every trusted root, PEM). */
  readonly bundle: () => string;
  /** Time between passes; a pass writes only what differs. @default 30000 */
  readonly intervalMs?: number;
  /** Told about each failed write (the next pass retries). @default none */
  readonly onError?: (e: WeftError) => void;
  /** Told about each ConfigMap created or updated. @default none */
  readonly onWrite?: (namespace: string, action: 'created' | 'updated') => void;
}

const httpStatus = (e: unknown): number | undefined => {
  const c = (e as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } })?.code ?? (e as { statusCode?: unknown })?.statusCode;
  return typeof c === 'number' ? c : undefined;
};

/** Keeps `weft-ca-root` current in every meshed namespace. `sync()` runs one pass; `start()` repeats it. */
export class CaRootPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly props: CaRootPublisherProps) {}

  /** Runs a pass now and then every `intervalMs`. */
  public start(): Promise<void> {
    const first = this.sync();
    this.timer = setInterval(() => void this.sync(), this.props.intervalMs ?? 30_000);
    this.timer.unref();
    return first;
  }

  public stop(): void {
    clearInterval(this.timer);
  }

  /** One pass over every namespace (a pass asked for during another runs right after it). */
  public sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const pem = this.props.bundle();
    const namespaces = [...new Set(this.props.namespaces())].sort();
    for (const namespace of namespaces) {
      try {
        await this.publish(namespace, pem);
      } catch (e) {
        this.props.onError?.(new WeftError('WEFT_ERR_CP_CA_ROOT_PUBLISH', `cannot write ConfigMap ${namespace}/${CA_ROOT_CONFIGMAP.name}: ${(e as Error).message ?? e}`, { cause: e }));
      }
    }
  }

  private async publish(namespace: string, pem: string): Promise<void> {
    const { name, key } = CA_ROOT_CONFIGMAP;
    const body: ConfigMapLike = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'weft', 'weft.dev/ca-root': 'true' } },
      data: { [key]: pem },
    };
    let existing: ConfigMapLike | undefined;
    try {
      existing = await this.props.api.readNamespacedConfigMap({ name, namespace });
    } catch (e) {
      if (httpStatus(e) !== 404) throw e;
    }
    if (!existing) {
      try {
        await this.props.api.createNamespacedConfigMap({ namespace, body });
        this.props.onWrite?.(namespace, 'created');
        return;
      } catch (e) {
        if (httpStatus(e) !== 409) throw e; // another replica created it meanwhile: compare below
        existing = await this.props.api.readNamespacedConfigMap({ name, namespace });
      }
    }
    if (existing.data?.[key] === pem) return;
    // resourceVersion makes the replace conditional: a concurrent writer's change is not overwritten blindly
    await this.props.api.replaceNamespacedConfigMap({ name, namespace, body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } } });
    this.props.onWrite?.(namespace, 'updated');
  }
}

/** Namespaces of the MeshServices in `resources` (where sidecars run). */
export function meshedNamespaces(resources: readonly { kind?: string; metadata?: { namespace?: string } }[]): string[] {
  return [...new Set(resources.filter((r) => r.kind === 'MeshService' && r.metadata?.namespace).map((r) => r.metadata!.namespace!))];
}
