/**
 * The Pulumi program (Pulumi.yaml's main): the bundled bookinfo mesh, configured by stack config
 * (`weft:namespace`, `weft:imageRepository`, `weft:imageTag`, `weft:trustDomain`, `weft:replicas`, ...).
 */
import { bookinfo } from '../examples/bookinfo/mesh';
import { WeftMesh } from './component';
import { bookinfoProps, readWeftConfig } from './config';

// The program (not the reusable component) picks the example, built as examples/bookinfo/main.ts builds it.
const props = bookinfoProps(readWeftConfig());
const mesh = new WeftMesh('bookinfo', { build: (chart) => { bookinfo(chart, props); }, chartId: 'bookinfo', chartProps: { namespace: props.namespace ?? 'bookinfo' } });

/** `<service>.<namespace>.svc:<port>` of the control plane's xDS/CA endpoint. */
export const controlPlaneAddress = mesh.controlPlaneAddress;
/** The meshed services, `namespace/name`. */
export const meshedServices = mesh.meshedServices;
