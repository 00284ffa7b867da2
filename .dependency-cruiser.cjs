/**
 * Import rules for src/ (run with `npm run check:imports`): no cycles, and the layers of
 * docs/ARCHITECTURE.md, whose imports point one way only:
 *
 *   commands -> cli -> training -> providers -> media -> core -> loss
 *
 * Within training: run/ wires stages/, optimise/ and report/; nothing imports run/ but
 * the commands and the public index.
 */
const layer = (name, path, mayNotImport, comment) => ({
  name,
  severity: 'error',
  comment,
  from: {path},
  to: {path: mayNotImport},
})

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes module order matter and hides which layer owns what.',
      from: {},
      to: {circular: true},
    },
    layer('loss-is-pure', '^src/loss/', '^src/(?!loss/)', 'The loss library imports nothing of studio: every layer may use it.'),
    layer('core-is-the-base', '^src/core/', '^src/(media|providers|training|cli|commands)/', 'core/ imports only core/ and loss/.'),
    layer(
      'media-knows-no-training',
      '^src/media/',
      '^src/(providers|training|cli|commands)/',
      'media/ reads files; it knows no providers or training.',
    ),
    layer(
      'providers-know-no-training',
      '^src/providers/',
      '^src/(training|cli|commands)/',
      'providers/ implement the interfaces of core/providers.ts.',
    ),
    layer(
      'training-uses-provider-interfaces',
      '^src/training/',
      '^src/(cli|commands)/|^src/providers/(?!usage\\.ts$|prices\\.ts$)',
      'The trainer depends on core/providers.ts interfaces, never on an SDK adapter, the mock or the cache; it may meter usage and price calls.',
    ),
    layer('stages-do-not-run', '^src/training/(stages|optimise|report)/', '^src/training/run/', 'Only run/ wires the stages together.'),
    layer('cli-renders', '^src/cli/', '^src/commands/', 'cli/ renders and builds providers for commands; it never imports a command.'),
    {
      name: 'no-dev-dependencies-in-src',
      severity: 'error',
      comment: 'What ships must not need a devDependency.',
      from: {path: '^src/'},
      to: {dependencyTypes: ['npm-dev']},
    },
    {
      name: 'resolvable',
      severity: 'error',
      from: {},
      to: {couldNotResolve: true},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default']},
    exclude: {path: '^(dist|node_modules)/'},
  },
}
