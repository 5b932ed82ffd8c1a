/**
 * In-process `cdk8s synth`: the same App → Chart → toJson path the cdk8s CLI runs, returning the
 * objects instead of writing dist/*.yaml, so a Pulumi stack deploys exactly what synth would emit.
 */
import { App, Chart } from 'cdk8s';
import { KubeObject } from './objects';

/** Builds a mesh into a cdk8s chart, e.g. `(chart) => bookinfo(chart, props)`. */
export type MeshBuilder = (chart: Chart) => void;

/**
 * Runs `build` in a fresh App and returns every chart's objects in synth order. Construct
 * validation (constructor, mutators, render) throws here, before anything is deployed.
 * @param chartId id of the chart handed to `build`; match your cdk8s app so generated names agree.
 */
export function synthesizeMesh(build: MeshBuilder, chartId: string): KubeObject[] {
  // outdir is never written: toJson() renders in memory; App only records the path.
  const app = new App({ outdir: 'dist' });
  build(new Chart(app, chartId));
  return app.charts.flatMap((chart) => chart.toJson() as KubeObject[]);
}
