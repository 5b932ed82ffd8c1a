/**
 * The Pulumi program (Pulumi.yaml's main): the bundled bookinfo mesh, configured by stack config
 * (`weft:namespace`, `weft:imageRepository`, `weft:imageTag`, `weft:trustDomain`, `weft:replicas`, ...).
 */
import { WeftMesh } from './component';
import { bookinfoProps, readWeftConfig } from './config';

const mesh = new WeftMesh('bookinfo', { bookinfo: bookinfoProps(readWeftConfig()) });

/** `<service>.<namespace>.svc:<port>` of the control plane's xDS/CA endpoint. */
export const controlPlaneAddress = mesh.controlPlaneAddress;
/** The meshed services, `namespace/name`. */
export const meshedServices = mesh.meshedServices;
