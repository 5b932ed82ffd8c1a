/**
 * The first layer of the concrete (backend) stack: choose the cluster for this try from the
 * route's weighted clusters (gRFC A28: uniformly at random by weight, per request). It runs per
 * try, below retries, so a retry may land on another version as well as another endpoint.
 */
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
      if (a && a.clusters.length > 0) setFact(req, 'weft.cluster', a.clusters.length === 1 ? a.clusters[0].name : pickWeighted(a.clusters, a.totalWeight, random()).name);
    }
    return next(req);
  };
}
