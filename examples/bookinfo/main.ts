/** The cdk8s app `npm run synth` runs (see cdk8s.yaml): the weft control plane plus bookinfo. */
import { App, Chart } from 'cdk8s';
import { WeftError } from '../../api/errors';
import { renderUncaught } from '../../constructs/clean-errors';
import { bookinfo } from './mesh';

const app = new App();
const chart = new Chart(app, 'bookinfo', { namespace: 'bookinfo' });
bookinfo(chart);
try {
  app.synth();
} catch (e) {
  // A coded construct error is the whole story (every problem: code, construct path, value, fix); skip the stack.
  if (!WeftError.isWeftError(e)) throw e;
  process.stderr.write(WeftError.isWeftError(e) && 'errors' in e ? renderUncaught(e) : `${e.code}: ${e.message}\n`);
  process.exit(1);
}
