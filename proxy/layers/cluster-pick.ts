/**
 * The first layer of the concrete (backend) stack: choose the cluster for this try from the
 * route's weighted clusters (gRFC A28: uniformly at random by weight). It runs per try, below
 * retries, so a retry may land on another version as well as another endpoint. When the route has a
 * hash policy the pick follows the request hash instead, so a user stays on the same version (sticky
 * canaries); as the last cluster's weight grows, users already on it stay there.
 */
import { murmur3 } from '../balance/hash';
import { fact, setFact } from '../stack/meta';
import type { Layer } from '../stack/types';
import { forwardOf } from './route';

/** Index of the weighted choice for `r` in [0, 1). */
export function pickWeighted<T extends { readonly weight: number }>(items: readonly T[], total: number, r: number): T {
  let x = r * total;
  for (const it of items) {
    if (x < it.weight) return it;
    x -= it.weight;
  }
  return items[items.length - 1];
}

/** Sets `weft.cluster` for the balancer (a mirror's override wins). */
export function pickCluster(random: () => number): Layer {
  return (next) => (req) => {
    const override = fact(req, 'weft.clusterOverride');
    if (override !== undefined) setFact(req, 'weft.cluster', override);
    else {
      const a = forwardOf(req);
      if (a && a.clusters.length > 0) {
        const hash = fact(req, 'weft.hash');
        // Re-mix the hash so the version pick and the ring-hash endpoint pick are not correlated.
        const r = hash === undefined ? random() : murmur3(String(hash), 0x9747b28c) / 2 ** 32;
        setFact(req, 'weft.cluster', a.clusters.length === 1 ? a.clusters[0].name : pickWeighted(a.clusters, a.totalWeight, r).name);
      }
    }
    return next(req);
  };
}
