/**
 * Bundles the CLI for start-up speed. `studio --help` must start within 2.5x of
 * bare `node -e 0`, and loading @oclif/core from node_modules alone costs more
 * than that: most of the time goes to resolving and reading its ~160 files. One
 * bundle (esbuild, ESM, code splitting) loads in a fraction of that, while
 * everything behind a dynamic import (the trainer, the mock, pdf-parse,
 * music-metadata, ora) still loads only when a command needs it.
 *
 * Runtime dependencies other than @oclif/core stay external: they are loaded
 * lazily anyway, and keeping them in node_modules keeps their licences and
 * updates visible.
 */
import {copyFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(path.join(root, 'package.json'), 'utf8')))

function commandFiles(dir) {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return commandFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

const external = Object.keys(pkg.dependencies).filter((name) => name !== '@oclif/core')

const result = await build({
  absWorkingDir: root,
  entryPoints: [
    'src/cli/execute.ts',
    'src/index.ts',
    'src/loss/index.ts',
    ...commandFiles(path.join(root, 'src', 'commands')).map((file) => path.relative(root, file)),
  ],
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // Optional dev-time integrations of @oclif/core, never used by an installed CLI.
  external: [...external, 'typescript', 'ts-node', 'tsx'],
  // @oclif/core is CommonJS and calls require(); give the ESM bundle a real one.
  banner: {
    js: "import {createRequire as __studioCreateRequire} from 'node:module'; const require = __studioCreateRequire(import.meta.url);",
  },
  sourcemap: true,
  // STUDIO_BUNDLE_MINIFY=0 keeps the names, for a CPU profile that reads (BENCHMARKS.md).
  minify: process.env.STUDIO_BUNDLE_MINIFY !== '0',
  keepNames: true,
  logLevel: 'warning',
  // Which output holds which module: the report's stylesheet goes beside the one that reads it.
  metafile: true,
})

// The PDF text worker is plain JavaScript, loaded by file name with new Worker(): shipped
// as is, next to the chunks that start it (src/media/pdf-text.ts finds it).
copyFileSync(path.join(root, 'src/media/pdf-text-worker.mjs'), path.join(root, 'dist/chunks/pdf-text-worker.mjs'))
copyFileSync(path.join(root, 'src/media/pdfium-text.mjs'), path.join(root, 'dist/chunks/pdfium-text.mjs'))

// The ROUGE worker (src/training/rouge-worker.ts) is started by file name, from beside
// the output that holds its pool (src/training/rouge-pool.ts, wherever the code splitting
// puts it): a bundle of its own, with the loss code inside, so it starts without
// resolving anything.
const poolModule = 'src/training/rouge-pool.ts'
const pools = Object.entries(result.metafile.outputs)
  .filter(([, output]) => poolModule in output.inputs)
  .map(([file]) => file)
if (pools.length !== 1) throw new Error(`expected ${poolModule} in one output, found it in ${pools.length}: ${pools.join(', ')}`)
await build({
  absWorkingDir: root,
  entryPoints: ['src/training/rouge-worker.ts'],
  outfile: path.join(path.dirname(pools[0]), 'rouge-worker.mjs'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // STUDIO_BUNDLE_MINIFY=0 keeps the names, for a CPU profile that reads (BENCHMARKS.md).
  minify: process.env.STUDIO_BUNDLE_MINIFY !== '0',
  keepNames: true,
  logLevel: 'warning',
})

// The HTML report's stylesheet is read at run time from beside the module that inlines it
// into the page (src/training/report/style.ts); esbuild puts that module in exactly one
// output, chosen by the code splitting, so ask the metafile which.
const styleModule = 'src/training/report/style.ts'
const readers = Object.entries(result.metafile.outputs)
  .filter(([, output]) => styleModule in output.inputs)
  .map(([file]) => file)
if (readers.length !== 1) throw new Error(`expected ${styleModule} in one output, found it in ${readers.length}: ${readers.join(', ')}`)
copyFileSync(path.join(root, 'src/training/report/report.css'), path.join(root, path.dirname(readers[0]), 'report.css'))
