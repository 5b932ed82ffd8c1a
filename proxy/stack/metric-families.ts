/**
 * Idempotent metric constructors over an injected prom-client Registry: the outbound and inbound
 * stacks (and tests) can share one registry without "already registered" errors and without any
 * global default registry.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The counter `name` in `registry`, created on first use. */
export function counterIn<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** The gauge `name` in `registry`, created on first use. */
export function gaugeIn<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/** The histogram `name` in `registry`, created on first use. */
export function histogramIn<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}
