/**
 * The HTML report of a real mock run, opened from disk in headless Chromium:
 * the charts render with one point per trial, the best trial is marked, and the
 * page logs no error and makes no request beyond its own file. Leaves a
 * screenshot in test-output/training_report.png.
 */
import {existsSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {chromium, type Browser, type Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {LOSS_NAMES} from '../../src/loss/weights.js'
import {renderReportHtml} from '../../src/training/report/html.js'
import {loadRunView, type RunView} from '../../src/training/report/view.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

// Evaluated in the page; the project's tsconfig has no DOM lib, so the slice of it used here is declared.
declare const getComputedStyle: (element: PageElement) => {fill: string; backgroundColor: string}
interface PageElement {
  getAttribute(name: string): string | null
  getBoundingClientRect(): {width: number; height: number}
  classList: {contains(name: string): boolean}
}

const CHROMIUM = '/usr/bin/chromium'
const hasBrowser = existsSync(CHROMIUM)
// The one test file that may skip: it needs a real browser, which CI (.ci/run) installs.
if (!hasBrowser) console.warn(`Skipping the HTML report in Chromium: no ${CHROMIUM}; to run it: apt-get install -y chromium`)

const CHARTS = ['total', ...LOSS_NAMES]
const SCREENSHOT = path.join(REPO_ROOT, 'test-output', 'training_report.png')

describe.skipIf(!hasBrowser)('the HTML training report in Chromium', () => {
  let root = ''
  let view: RunView
  let file = ''
  let browser: Browser
  let page: Page
  const problems: string[] = []
  const foreignRequests: string[] = []

  beforeAll(async () => {
    root = await makeTempDir('studio-report-browser-')
    const outcome = await mockTrainingRun(root)
    view = await loadRunView(outcome.runDir, {host: os.hostname()})
    file = path.join(view.runDir, 'training_report.html')
    await writeFile(file, renderReportHtml(view))

    browser = await chromium.launch({executablePath: CHROMIUM, args: ['--no-sandbox']})
    page = await browser.newPage({viewport: {width: 1200, height: 900}})
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('requestfailed', (request) => problems.push(`failed request: ${request.url()}`))
    page.on('request', (request) => {
      if (request.url() !== pathToFileURL(file).href) foreignRequests.push(request.url())
    })
    await page.goto(pathToFileURL(file).href, {waitUntil: 'load'})
  })
  afterAll(async () => {
    await browser?.close()
    await removeDir(root)
  })

  it('draws every chart with exactly one visible point per trial', async () => {
    const trials = view.trials.map((t) => String(t.results.index))
    expect(trials).toHaveLength(3)
    const found = await page.$$eval('svg[data-chart]', (svgs: PageElement[]) => svgs.map((svg) => svg.getAttribute('data-chart')))
    expect(found.sort()).toEqual([...CHARTS].sort())
    for (const chart of CHARTS) {
      const svg = page.locator(`svg[data-chart="${chart}"]`)
      await expect.poll(() => svg.isVisible()).toBe(true)
      const box = await svg.boundingBox()
      expect(box!.width, chart).toBeGreaterThan(120)
      expect(box!.height, chart).toBeGreaterThan(80)
      const points = await svg.locator('circle[data-trial]').evaluateAll((circles: PageElement[]) =>
        circles.map((c) => {
          const r = c.getBoundingClientRect()
          return {trial: c.getAttribute('data-trial'), visible: r.width > 0 && r.height > 0}
        }),
      )
      expect(
        points.map((p) => p.trial),
        chart,
      ).toEqual(trials)
      expect(
        points.every((p) => p.visible),
        chart,
      ).toBe(true)
    }
  })

  it('marks the best trial: a larger point in another colour, in every chart and table', async () => {
    const best = String(view.trials[view.best!.position]!.results.index)
    for (const chart of CHARTS) {
      const styles = await page.locator(`svg[data-chart="${chart}"] circle[data-trial]`).evaluateAll((circles: PageElement[]) =>
        circles.map((c) => ({
          trial: c.getAttribute('data-trial'),
          best: c.classList.contains('best'),
          fill: getComputedStyle(c).fill,
          r: Number(c.getAttribute('r')),
        })),
      )
      const marked = styles.filter((s) => s.best)
      expect(
        marked.map((s) => s.trial),
        chart,
      ).toEqual([best])
      for (const other of styles.filter((s) => !s.best)) {
        expect(other.fill, chart).not.toBe(marked[0]!.fill)
        expect(other.r, chart).toBeLessThan(marked[0]!.r)
      }
    }
    const bestHeaders = await page.locator('table[data-table="pair-totals"] thead th.best').allTextContents()
    expect(bestHeaders.map((t) => t.replace(/\D/g, ''))).toEqual([best])
    const background = await page
      .locator('table[data-table="pair-totals"] tbody td.best')
      .first()
      .evaluate((td: PageElement) => getComputedStyle(td).backgroundColor)
    const plain = await page
      .locator('table[data-table="pair-totals"] tbody td:not(.best)')
      .first()
      .evaluate((td: PageElement) => getComputedStyle(td).backgroundColor)
    expect(background).not.toBe(plain)
  })

  it('links each script to a file that exists next to the page', async () => {
    const hrefs = await page.$$eval('a[href]', (links: PageElement[]) =>
      links.map((a) => a.getAttribute('href')!).filter((h) => !h.startsWith('#')),
    )
    expect(hrefs.length).toBeGreaterThanOrEqual(view.trials.length * view.manifest.pairs.length)
    for (const href of hrefs) expect(existsSync(path.join(view.runDir, decodeURIComponent(href))), href).toBe(true)
  })

  it('logs no error and fetches nothing but itself', () => {
    expect(problems).toEqual([])
    expect(foreignRequests).toEqual([])
  })

  it('saves a screenshot', async () => {
    await mkdir(path.dirname(SCREENSHOT), {recursive: true})
    await page.screenshot({path: SCREENSHOT, fullPage: true})
    expect(existsSync(SCREENSHOT)).toBe(true)
  })
})
