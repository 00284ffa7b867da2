import {execFile} from 'node:child_process'
import path from 'node:path'
import {stripVTControlCharacters} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, cliEnv, REPO_ROOT} from '../helpers/cli.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

/** `script` (util-linux) runs the CLI on a pseudo-terminal, as a user's shell would. */
const hasScript = await new Promise<boolean>((resolve) => execFile('script', ['--version'], (error) => resolve(!error)))
// Essential on Debian and Ubuntu (package bsdutils), so a fresh machine has it; elsewhere it may not.
if (!hasScript) console.warn('Skipping the live terminal display: no `script` (util-linux); to run it: apt-get install -y bsdutils')

let out = ''
beforeAll(async () => {
  out = await makeTempDir('studio-e2e-tty-')
})
afterAll(async () => {
  await removeDir(out)
})

function inTerminal(command: string, columns: number): Promise<{code: number; output: string}> {
  const env = cliEnv()
  delete env.CI
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-qec', `stty cols ${columns} rows 40; ${command}`, '/dev/null'],
      {cwd: REPO_ROOT, env, timeout: 30_000},
      (error, stdout) => resolve({code: error ? Number((error as {code?: number}).code ?? 1) : 0, output: stdout}),
    )
  })
}

describe.skipIf(!hasScript)('live display in a terminal', () => {
  it('shows a spinner per phase with counts, elapsed time and cost, then the summary table', async () => {
    const {code, output} = await inTerminal(`node ${BIN} training run --mock --max-trials 2 --output-dir ${path.join(out, 'a')}`, 120)
    expect(code).toBe(0)
    const text = stripVTControlCharacters(output)
    // What each finished step leaves on screen (intermediate frames may be skipped by the redraw rate).
    expect(text).toMatch(/✔ Discovering pairs in artifacts\/training_data/)
    expect(text).toMatch(/✔ Ingested and analysed 3\/3 pairs \(\d+\.\ds\)/)
    expect(text).toMatch(/✔ Trial 0: mean total loss 0\.\d{4} \(\d+\.\ds, \$0\.00\)/)
    expect(text).toMatch(/✔ Trial 1: mean total loss 0\.\d{4}/)
    expect(text).toMatch(/⠋ Trial 1 \(2 of 2\)/)
    expect(text).toMatch(/trial\s+duration\s+coverage/)
    // Spinners redraw the line in place.
    expect(output).toContain('\u001b[0K')
  })

  it('falls back to plain lines when the terminal reports no width', async () => {
    const {code, output} = await inTerminal(`node ${BIN} training run --mock --max-trials 1 --output-dir ${path.join(out, 'b')}`, 0)
    expect(code).toBe(0)
    expect(output).toMatch(/^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] Trial 0 \(1 of 1\)/m)
  })
})
