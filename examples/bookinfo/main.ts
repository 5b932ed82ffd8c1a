/** The cdk8s app `npm run synth` runs (see cdk8s.yaml): the weft control plane plus bookinfo. */
import { App, Chart } from 'cdk8s';
import { bookinfo } from './mesh';

const app = new App();
const chart = new Chart(app, 'bookinfo', { namespace: 'bookinfo' });
bookinfo(chart);
app.synth();
