/**
 * Bookinfo on weft: productpage → details, reviews (v1/v2 canary) → ratings, STRICT mTLS and
 * least-privilege authorization. `bookinfo(scope)` builds it into any Chart so cdk8s (main.ts),
 * the Pulumi stack and `weft up` share one definition.
 */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CanaryRoute, Interception, Mesh, MeshService, MtlsMode, MtlsPolicy, type ObservabilityOptions, Protocol, clusterScoped } from '../../constructs';

/** Overrides of the example. */
export interface BookinfoProps {
  /**
   * Namespace of the bookinfo services.
   * @default 'bookinfo'
   */
  readonly namespace?: string;
  /**
   * Create the Namespace object.
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * Repository prefix of the app images (`<repo>/<service>:<tag>`).
   * @default 'registry.example/bookinfo'
   */
  readonly imageRepository?: string;
  /**
   * Tag of the app images (reviews v2 uses `<tag>-v2`).
   * @default '1.0.0'
   */
  readonly imageTag?: string;
  /**
   * Repository of the weft image.
   * @default - the Mesh default (ghcr.io/weft-mesh/weft)
   */
  readonly meshImageRepository?: string;
  /**
   * Tag of the weft image.
   * @default - the Mesh default
   */
  readonly meshImageTag?: string;
  /**
   * SPIFFE trust domain.
   * @default 'bookinfo.local'
   */
  readonly trustDomain?: string;
  /**
   * Replicas per workload (`productpage`, `details`, `reviews-v1`, `reviews-v2`, `ratings`).
   * @default - 1 each
   */
  readonly replicas?: Partial<Record<'productpage' | 'details' | 'reviews-v1' | 'reviews-v2' | 'ratings', number>>;
  /**
   * Use this mesh instead of creating one.
   * @default - a new Mesh with id `mesh`
   */
  readonly mesh?: Mesh;
  /**
   * Traffic capture of every service.
   * @default Interception.IPTABLES
   */
  readonly interception?: Interception;
  /**
   * Tracing and access logs of the new Mesh (ignored with `mesh`).
   * @default - off
   */
  readonly observability?: ObservabilityOptions;
}

/** What `bookinfo()` built. */
export interface Bookinfo {
  readonly mesh: Mesh;
  readonly productpage: MeshService;
  readonly details: MeshService;
  readonly reviews: MeshService;
  readonly ratings: MeshService;
  readonly reviewsCanary: CanaryRoute;
  readonly strict: MtlsPolicy;
}

/** Where the local (weft up) servers live, relative to this mesh file (weft up runs local commands from its folder). */
export const APPS_DIR = 'apps';

/** Builds the bookinfo mesh into `scope`. */
export function bookinfo(scope: Construct, props: BookinfoProps = {}): Bookinfo {
  const namespace = props.namespace ?? 'bookinfo';
  const repo = props.imageRepository ?? 'registry.example/bookinfo';
  const tag = props.imageTag ?? '1.0.0';
  const r = props.replicas ?? {};
  const interception = props.interception ?? Interception.IPTABLES;
  const local = (svc: string, env: Record<string, string> = {}) => ({ command: ['node', `${APPS_DIR}/${svc}.js`], env: { SERVICE: svc, ...env } });

  const mesh = props.mesh ?? new Mesh(scope, 'mesh', {
    trustDomain: props.trustDomain ?? 'bookinfo.local',
    imageRepository: props.meshImageRepository,
    imageTag: props.meshImageTag,
    observability: props.observability,
  });
  if (props.createNamespace ?? true) {
    // Namespaces are cluster-scoped: keep the chart's namespace off this object.
    clusterScoped(new k8s.KubeNamespace(scope, 'namespace', { metadata: { name: namespace, labels: { 'app.kubernetes.io/part-of': 'bookinfo' } } }));
  }
  const common = { mesh, namespace, port: 9080, protocol: Protocol.HTTP, interception };

  const ratings = new MeshService(scope, 'ratings', {
    ...common, image: `${repo}/ratings:${tag}`, replicas: r.ratings ?? 2, local: local('ratings'),
    // A killed or restarting replica costs no request: retry elsewhere, then eject it.
    // 3 tries × 600ms fit in the 2s each try of reviews may take (the call-graph timeout budget).
    retries: { attempts: 2, on: ['reset', 'connect-failure', 'gateway-error'], perTryTimeout: '600ms' },
    timeout: '1800ms',
    outlierDetection: { consecutive5xx: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
  });
  const details = new MeshService(scope, 'details', { ...common, image: `${repo}/details:${tag}`, replicas: r.details, local: local('details') });
  const reviews = new MeshService(scope, 'reviews', {
    ...common,
    versions: {
      v1: { image: `${repo}/reviews:${tag}`, replicas: r['reviews-v1'], local: local('reviews', { VERSION: 'v1' }) },
      v2: { image: `${repo}/reviews:${tag}-v2`, replicas: r['reviews-v2'], local: local('reviews', { VERSION: 'v2', STARS: 'true' }) },
    },
    // One retry: 2 (reviews) × 3 (ratings) = 6 requests at most per page, under the mesh's limit of 10.
    retries: { attempts: 1, on: ['5xx', 'reset', 'connect-failure'], perTryTimeout: '2s' },
    timeout: '4s',
  });
  // Users reach bookinfo through productpage: the entry of the call graph.
  const productpage = new MeshService(scope, 'productpage', { ...common, image: `${repo}/productpage:${tag}`, replicas: r.productpage, local: local('productpage'), timeout: '5s', ingress: true });
  productpage.calls(details, reviews);
  reviews.calls(ratings);

  // 90/10 canary of reviews v2; testers pin themselves to v2 with a header.
  const reviewsCanary = new CanaryRoute(scope, 'reviews-canary', {
    service: reviews,
    match: [{ headers: { 'x-canary': 'always' }, to: 'v2' }],
    split: { v1: 90, v2: 10 },
    steps: [{ weight: 10, pause: '5m', minSuccessRate: 99 }, { weight: 50, pause: '10m', minSuccessRate: 99, maxP99: '500ms' }, { weight: 100 }],
  });

  // mTLS everywhere, and each service admits only the callers that declare it.
  const strict = new MtlsPolicy(scope, 'strict', { mesh, mode: MtlsMode.STRICT });
  new MtlsPolicy(scope, 'reviews-callers', { mesh, service: reviews }).allow({ from: { services: [productpage] }, to: { methods: ['GET'] } });
  new MtlsPolicy(scope, 'ratings-callers', { mesh, service: ratings }).allow({ from: { services: [reviews] }, to: { methods: ['GET'], paths: ['/ratings/*'] } });
  new MtlsPolicy(scope, 'details-callers', { mesh, service: details }).allow({ from: { services: [productpage] } });

  return { mesh, productpage, details, reviews, ratings, reviewsCanary, strict };
}
