/** Writes <run-dir>/training_report.html from the run's files. */
import path from 'node:path'

import {writeFileAtomic} from '../../core/store.js'
import {renderReportHtml} from './html.js'
import {loadRunView, type RunView} from './view.js'

export const HTML_REPORT_FILE = 'training_report.html'

export async function writeHtmlReport(runDir: string, options: {host: string}): Promise<{view: RunView; file: string}> {
  const view = await loadRunView(runDir, options)
  const file = path.join(view.runDir, HTML_REPORT_FILE)
  await writeFileAtomic(file, renderReportHtml(view))
  return {view, file}
}
