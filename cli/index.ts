/** The CLI's entry point: the `weft` program (bin/weft.js runs it; tests build it). No other part imports the CLI. */
export { buildProgram } from './main';
export type { CommandModule } from './main';
