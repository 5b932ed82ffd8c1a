/**
 * The files `weft init` writes: a cdk8s typescript-app project (the template's own tsconfig.json
 * and jest.config.js) holding a small mesh, its jest snapshot test and a Pulumi program.
 */
/* weft-package: data-only — the imports below are file contents; package/build.ts does not follow them. */

/** Versions the new project depends on (ranges; test/cli/init.test.ts checks weft's own pins satisfy them). */
export const INIT_DEPENDENCIES = {
  dependencies: { cdk8s: '^2.68.0', constructs: '^10.3.0' },
  devDependencies: {
    '@pulumi/kubernetes': '^4.34.0',
    '@pulumi/pulumi': '^3.248.0',
    '@types/jest': '^30.0.0',
    '@types/node': '^20.19.0',
    'cdk8s-cli': '^2.207.0',
    jest: '^30.5.0',
    'ts-jest': '^29.4.0',
    'ts-node': '^10.9.0',
    typescript: '~5.9.0',
  },
} as const;

/** What the files depend on. */
export interface InitOptions {
  /** npm package name of the project. */
  readonly name: string;
  /** Dependency spec of `weft-mesh` (a version range or `file:` tarball). */
  readonly weftMesh: string;
  /** Dependency spec of `weft-mesh-runtime` (for `weft up`). */
  readonly weftRuntime: string;
}

// The cdk8s typescript-app template's tsconfig.json and jest.config.js, as `cdk8s init` writes them.
const TSCONFIG = `{
  "compilerOptions": {
    "alwaysStrict": true,
    "declaration": true,
    "experimentalDecorators": true,
    "inlineSourceMap": true,
    "inlineSources": true,
    "lib": [
      "es2016"
    ],
    "module": "CommonJS",
    "noEmit": false,
    "noEmitOnError": true,
    "noFallthroughCasesInSwitch": true,
    "noImplicitAny": true,
    "noImplicitReturns": true,
    "noImplicitThis": true,
    "noUnusedLocals": true,
    "noUnusedParameters": true,
    "resolveJsonModule": true,
    "strict": true,
    "strictNullChecks": true,
    "strictPropertyInitialization": true,
    "stripInternal": true,
    "target": "ES2017"
  },
  "include": [
    "**/*.ts"
  ],
  "exclude": [
    "node_modules"
  ]
}
`;

const JEST_CONFIG = `module.exports = {
    "roots": [
        "<rootDir>"
    ],
    moduleFileExtensions: ["ts", "tsx", "js", "mjs", "cjs", "jsx", "json", "node"],
    testMatch: [ '**/*.test.ts'],
    "transform": {
        "^.+\\\\.tsx?$": "ts-jest"
    },
}
`;

const MESH = `/** The mesh: web calls api; api runs v1 and a 10% canary of v2; every hop is mTLS (STRICT). */
import { Chart } from 'cdk8s';
import { CanaryRoute, Mesh, MeshService, MtlsMode, MtlsPolicy, Protocol } from 'weft-mesh';

/** Builds the mesh into \`chart\` (main.ts, the tests and the Pulumi program all call this). */
export function buildMesh(chart: Chart): void {
  const mesh = new Mesh(chart, 'mesh', { trustDomain: 'shop.local' });
  const api = new MeshService(chart, 'api', {
    mesh, port: 8080, protocol: Protocol.HTTP,
    versions: {
      v1: { image: 'registry.example/api:1.0.0', local: { command: ['node', 'apps/api.js'], env: { VERSION: 'v1' } } },
      v2: { image: 'registry.example/api:2.0.0', local: { command: ['node', 'apps/api.js'], env: { VERSION: 'v2' } } },
    },
  });
  const web = new MeshService(chart, 'web', {
    mesh, port: 8080, protocol: Protocol.HTTP,
    image: 'registry.example/web:1.0.0', local: { command: ['node', 'apps/web.js'] },
  });
  web.calls(api);
  new CanaryRoute(chart, 'api-canary', { service: api, split: { v1: 90, v2: 10 } });
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
}

/** The namespace the mesh's services live in. */
export const NAMESPACE = 'shop';
`;

const MAIN = `/** The cdk8s app (\`cdk8s synth\`, \`npx weft up\`). */
import { App, Chart } from 'cdk8s';
import { buildMesh, NAMESPACE } from './mesh';

const app = new App();
buildMesh(new Chart(app, 'shop', { namespace: NAMESPACE }));
app.synth();
`;

const MESH_TEST = `import { Chart, Testing } from 'cdk8s';
import { mayCall, meshObjects } from 'weft-mesh/testing';
import { buildMesh, NAMESPACE } from './mesh';

function chart(): Chart {
  const c = new Chart(Testing.app(), 'shop', { namespace: NAMESPACE });
  buildMesh(c);
  return c;
}

test('the mesh matches its snapshot', () => {
  expect(meshObjects(chart())).toMatchSnapshot();
});

test('web may call api; a plaintext caller may not (STRICT)', () => {
  const c = chart();
  expect(mayCall(c, { from: { service: 'web' }, to: { service: 'api' } }).allowed).toBe(true);
  expect(mayCall(c, { from: 'unmeshed', to: { service: 'api' } })).toMatchObject({ allowed: false, reason: 'plaintext_refused' });
});
`;

const PULUMI_PROGRAM = `/** The Pulumi program (Pulumi.yaml): the same mesh through @pulumi/kubernetes. */
import { Chart } from 'cdk8s';
import { WeftMesh } from 'weft-mesh/pulumi';
import { buildMesh, NAMESPACE } from '../mesh';

const mesh = new WeftMesh('shop', { build: (chart: Chart) => buildMesh(chart), chartId: 'shop', chartProps: { namespace: NAMESPACE } });

export const controlPlaneAddress = mesh.controlPlaneAddress;
export const meshedServices = mesh.meshedServices;
`;

const PULUMI_TEST = `import * as pulumi from '@pulumi/pulumi';

beforeAll(() => {
  // Pulumi's documented mocks: no engine, no cluster; every resource echoes its inputs.
  pulumi.runtime.setMocks({
    newResource: (args) => ({ id: \`\${args.name}-id\`, state: args.inputs }),
    call: (args) => args.inputs,
  }, 'shop-mesh', 'test', false);
});

const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

test('the Pulumi program deploys the meshed services', async () => {
  const program = await import('./pulumi/index');
  expect(await valueOf(program.meshedServices)).toEqual(['shop/api', 'shop/web']);
});
`;

const APP_LIB = `'use strict';
// A tiny HTTP server for \`weft up\`: listens on PORT; calls other services through HTTP_PROXY (its sidecar).
const http = require('node:http');

function get(url) {
  const target = new URL(url);
  const proxy = process.env.HTTP_PROXY ? new URL(process.env.HTTP_PROXY) : target;
  return new Promise((resolve, reject) => {
    const req = http.get({ host: proxy.hostname, port: proxy.port || 80, path: process.env.HTTP_PROXY ? target.href : target.pathname, headers: { host: target.host } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
  });
}

function serve(handler) {
  const server = http.createServer(async (req, res) => {
    try {
      const body = JSON.stringify(await handler(req));
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } catch (e) {
      res.writeHead(502).end(String(e && e.message));
    }
  });
  server.listen(Number(process.env.PORT || 8080), process.env.HOST || '0.0.0.0');
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
}

module.exports = { get, serve };
`;

const APP_API = `'use strict';
require('./lib').serve(async () => ({ service: 'api', version: process.env.VERSION || 'v1' }));
`;

const APP_WEB = `'use strict';
const { get, serve } = require('./lib');
serve(async () => ({ service: 'web', api: JSON.parse((await get('http://api:8080/')).text) }));
`;

/** Every file of a new project, path → content. */
export function projectFiles(opts: InitOptions): Record<string, string> {
  const pkg = {
    name: opts.name,
    version: '0.1.0',
    private: true,
    scripts: { synth: 'cdk8s synth', test: 'jest', typecheck: 'tsc --noEmit', up: 'weft up', check: 'weft check dist' },
    dependencies: { ...INIT_DEPENDENCIES.dependencies, 'weft-mesh': opts.weftMesh },
    devDependencies: { ...INIT_DEPENDENCIES.devDependencies, 'weft-mesh-runtime': opts.weftRuntime },
  };
  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'tsconfig.json': TSCONFIG,
    'jest.config.js': JEST_CONFIG,
    'cdk8s.yaml': 'language: typescript\napp: npx ts-node main.ts\n',
    'Pulumi.yaml': `name: ${opts.name}\nruntime: nodejs\nmain: pulumi/index.ts\ndescription: the weft mesh of main.ts, deployed by Pulumi\n`,
    'mesh.ts': MESH,
    'main.ts': MAIN,
    'mesh.test.ts': MESH_TEST,
    'pulumi/index.ts': PULUMI_PROGRAM,
    'pulumi.test.ts': PULUMI_TEST,
    'apps/lib.js': APP_LIB,
    'apps/api.js': APP_API,
    'apps/web.js': APP_WEB,
    '.gitignore': 'node_modules/\ndist/\n.weft/\n*.d.ts\n',
    'README.md': `# ${opts.name}\n\nA weft mesh (made by \`weft init\`).\n\n- \`npx cdk8s synth\`: manifests in dist/\n- \`npm test\`: snapshot + authorization tests\n- \`npx weft up --expose web=8080\`: the mesh on this machine\n- \`pulumi up\`: deploy with Pulumi (Pulumi.yaml)\n`,
  };
}
