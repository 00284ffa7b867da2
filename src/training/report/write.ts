/** Writes <run-dir>/training_report.html from the run's files. */
import {runPaths} from '../../core/layout.js'
import {writeFileAtomic} from '../../core/store.js'
import {renderReportHtml} from './html.js'
import {loadRunView, type RunView} from './view.js'

export async function writeHtmlReport(runDir: string, options: {host: string}): Promise<{view: RunView; file: string}> {
  const view = await loadRunView(runDir, options)
  const file = runPaths(view.runDir).htmlReport
  await writeFileAtomic(file, renderReportHtml(view))
  return {view, file}
}
