/** Test fixtures for the constructs: an app with one chart and a mesh, synth helpers, code assertions. */
import { App, Chart, Testing } from 'cdk8s';
import { Mesh, MeshProps, WeftValidationError } from '../../constructs';

export interface Fixture { app: App; chart: Chart; mesh: Mesh }

/** A Testing app with chart `shop` (namespace `shop`) and a Mesh `mesh`. */
export function fixture(meshProps: MeshProps = { trustDomain: 'shop.local' }): Fixture {
  const app = Testing.app();
  const chart = new Chart(app, 'shop', { namespace: 'shop' });
  const mesh = new Mesh(chart, 'mesh', meshProps);
  return { app, chart, mesh };
}

/** Synthesized objects of `chart`. */
export function synth(chart: Chart): any[] {
  return Testing.synth(chart);
}

/** The one object of `kind` named `name`. */
export function find(objs: any[], kind: string, name: string): any {
  const hit = objs.filter((o) => o.kind === kind && o.metadata?.name === name);
  if (hit.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${hit.length}`);
  return hit[0];
}

/** Runs `fn`, expects it to throw a WeftValidationError with `code`; returns the error. */
export function expectCode(fn: () => unknown, code: string): any {
  let err: any;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeDefined();
  expect({ code: err.code, message: err.message }).toEqual({ code, message: expect.any(String) });
  expect(err.name).toBe('WeftValidationError');
  expect(WeftValidationError.isWeftValidationError(err)).toBe(true);
  expect(typeof err.path).toBe('string');
  return err;
}
