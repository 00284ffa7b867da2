/**
 * Makes docs/training-report.png, the picture of the HTML training report shown
 * in the docs: a fresh mock run of the bundled pairs (artifacts/training_data),
 * its training_report.html opened in headless Chromium, the top of the page
 * (header, charts and the per-pair table) captured 1200 px wide.
 *
 *   npx tsx scripts/screenshot-report.mjs [--out docs/training-report.png] [--full] [--dark] [--keep]
 *
 * Runs through tsx because it imports the trainer and the renderer from src/
 * (no build needed). Needs Chromium at /usr/bin/chromium (or CHROMIUM_PATH):
 * apt-get install -y chromium. --full captures the whole page, --dark the dark
 * colour scheme; --keep leaves the run folder in place and prints it.
 */
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'

import {chromium} from 'playwright-core'

import {mockProviders} from '../src/providers/mock/index.ts'
import {renderReportHtml} from '../src/training/report/html.ts'
import {loadRunView} from '../src/training/report/view.ts'
import {runTraining} from '../src/training/run/trainer.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const {values: args} = parseArgs({
  options: {
    out: {type: 'string', default: path.join(root, 'docs', 'training-report.png')},
    dark: {type: 'boolean', default: false},
    full: {type: 'boolean', default: false},
    keep: {type: 'boolean', default: false},
  },
})
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
if (!existsSync(executablePath)) {
  console.error(`Chromium not found at ${executablePath}: install it with apt-get install -y chromium (or set CHROMIUM_PATH)`)
  process.exit(1)
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'studio-screenshot-'))
try {
  // The same settings as `studio training run --mock --max-trials 4`.
  const outcome = await runTraining({
    pairsDir: path.join(root, 'artifacts', 'training_data'),
    outputDir: tmp,
    maxTrials: 4,
    seed: 42,
    window: 2,
    threshold: 0.05,
    concurrency: 4,
    mock: true,
    providers: mockProviders(),
    toolVersion: JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(path.join(root, 'package.json'), 'utf8'))).version,
  })
  // Rendered here too, so the picture always shows the renderer of this checkout.
  const view = await loadRunView(outcome.runDir, {host: os.hostname()})
  const file = path.join(outcome.runDir, 'training_report.html')
  await writeFile(file, renderReportHtml(view))

  const browser = await chromium.launch({executablePath, args: ['--no-sandbox']})
  try {
    const page = await browser.newPage({
      viewport: {width: 1200, height: 900},
      deviceScaleFactor: 1,
      colorScheme: args.dark ? 'dark' : 'light',
    })
    await page.goto(pathToFileURL(file).href)
    await mkdir(path.dirname(path.resolve(args.out)), {recursive: true})
    // Cut below the per-pair table, at the gap between two sections.
    const bottom = await page.$eval('#pairs', (el) =>
      Math.ceil(el.getBoundingClientRect().bottom + el.ownerDocument.defaultView.scrollY + 24),
    )
    await page.screenshot({path: args.out, fullPage: true, ...(args.full ? {} : {clip: {x: 0, y: 0, width: 1200, height: bottom}})})
  } finally {
    await browser.close()
  }
  const {size} = await stat(args.out)
  console.log(
    `Wrote ${path.relative(process.cwd(), path.resolve(args.out))} (${Math.round(size / 1024)} KB) from ${args.keep ? file : 'a temporary mock run'}`,
  )
} finally {
  if (!args.keep) await rm(tmp, {recursive: true, force: true})
}
