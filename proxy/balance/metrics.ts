/** Balancer metric families and their label sets (defined beside the balancer, registry injected). */
import type { Registry } from 'prom-client';
import { counterIn, gaugeIn } from '../stack/metric-families';

/** Labels of balancer metrics: the cluster, and for ejections the reason. */
export type BalancerLabels = 'cluster' | 'reason';

/** The balancer's metric scope. */
export function balancerMetrics(registry: Registry) {
  return {
    ejections: counterIn<BalancerLabels>(registry, 'weft_proxy_outlier_ejections_total', 'Endpoints ejected by outlier detection.', ['cluster', 'reason']),
    ejected: gaugeIn<'cluster'>(registry, 'weft_proxy_outlier_ejected_endpoints', 'Endpoints currently ejected.', ['cluster']),
    endpoints: gaugeIn<'cluster'>(registry, 'weft_proxy_cluster_endpoints', 'Endpoints known per cluster.', ['cluster']),
  };
}

export type BalancerMetrics = ReturnType<typeof balancerMetrics>;
