/**
 * Import rules checked by `npm run lint` (dependency-cruiser): no cycles between files, the platform
 * never imports a domain, a domain reaches another only through that domain's index.ts, and no
 * domain reaches the portal, which comes last.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Files import each other in one direction only.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'platform-imports-no-domain',
      comment: 'packages/server/src/platform knows no domain; domains register with it instead.',
      severity: 'error',
      from: { path: '^packages/server/src/platform/' },
      to: { path: '^packages/server/src/domains/' },
    },
    {
      name: 'domains-meet-at-index',
      comment: "A domain uses another only through that domain's index.ts (tests may reach inside).",
      severity: 'error',
      from: { path: '^packages/server/src/domains/([^/]+)/', pathNot: '/test/' },
      to: {
        path: '^packages/server/src/domains/([^/]+)/',
        pathNot: ['^packages/server/src/domains/$1/', '^packages/server/src/domains/[^/]+/index\\.ts$'],
      },
    },
    {
      name: 'portal-comes-last',
      comment:
        'The portal stands after payments in the domain order: it uses the others (through their index.ts); none uses it.',
      severity: 'error',
      from: { path: '^packages/server/src/domains/(?!portal/)' },
      to: { path: '^packages/server/src/domains/portal/' },
    },
    {
      name: 'outside-meets-domains-at-index',
      comment: 'Start-up, the CLI and the tests outside a domain use it only through its index.ts.',
      severity: 'error',
      from: { path: '^packages/server/src/[^/]+\\.ts$' },
      to: { path: '^packages/server/src/domains/[^/]+/(?!index\\.ts$)' },
    },
    {
      name: 'core-and-api-import-no-server',
      comment: 'The contract and the pure core never reach into the server.',
      severity: 'error',
      from: { path: '^packages/(api|core)/' },
      to: { path: '^packages/server/' },
    },
    {
      name: 'sdk-is-standalone',
      comment:
        '@bursar/sdk is published alone: its source imports only itself (its types are generated from @bursar/api).',
      severity: 'error',
      from: { path: '^packages/sdk/src/' },
      to: { pathNot: '^packages/sdk/src/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
