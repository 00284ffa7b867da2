/**
 * The pieces behind a safe --resume (issue 16): the event log's torn last line, the run
 * lock, and the pair set of a resumed run. The CLI's exit codes and messages are in
 * test/e2e/resume-safety.test.ts.
 */
import {appendFile, cp, mkdir, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CorruptFileError, EXIT, InputError} from '../../src/core/errors.js'
import {readEventLog, recoverEventLog} from '../../src/core/event-log.js'
import {acquireRunLock} from '../../src/core/run-lock.js'
import {RunLock} from '../../src/core/schemas/files.js'
import {mockProviders} from '../../src/providers/mock/index.js'
import {resumeTraining} from '../../src/training/run/trainer.js'
import {EXAMPLE_PAIRS} from '../helpers/cli.js'
import {readJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {interruptedCopy, skipBeforeTrials} from '../helpers/run-folder.js'
import {mockTrainingRun} from '../helpers/training.js'

let root = ''
beforeAll(async () => {
  root = await makeTempDir('studio-unit-resume-safety-')
})
afterAll(async () => {
  await removeDir(root)
})

const EVENT = '{"type":"run-interrupted","time":"2026-12-05T08:00:00.000Z"}'

describe('events.jsonl', () => {
  it('readers ignore a torn last line, and refuse a torn line in the middle (corrupt, exit 3)', async () => {
    const file = path.join(root, 'torn-last.jsonl')
    await writeFile(file, `${EVENT}\n${EVENT}\n{"type":"pha`)
    expect(await readEventLog(file)).toHaveLength(2)

    const middle = path.join(root, 'torn-middle.jsonl')
    await writeFile(middle, `${EVENT}\n{"type":"pha${EVENT}\n${EVENT}\n`)
    const error = await readEventLog(middle).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CorruptFileError)
    expect((error as CorruptFileError).exitCode).toBe(EXIT.corrupt)
    expect((error as CorruptFileError).message).toBe(`${middle}:2: not a JSON line`)
  })

  it('recoverEventLog truncates a torn last line away and says what it dropped; a whole log is left as it is', async () => {
    const file = path.join(root, 'recover.jsonl')
    const torn = `{"type":"pair-scored","pair":"${'x'.repeat(100)}`
    await writeFile(file, `${EVENT}\n${torn}`)
    const dropped = await recoverEventLog(file)
    expect(dropped).toEqual({bytes: torn.length, preview: `${torn.slice(0, 80)}...`})
    expect(await readFile(file, 'utf8')).toBe(`${EVENT}\n`)
    // Appending now gives whole lines only.
    await appendFile(file, `${EVENT}\n`)
    expect(await readEventLog(file)).toHaveLength(2)

    expect(await recoverEventLog(file)).toBeNull()
    expect(await readFile(file, 'utf8')).toBe(`${EVENT}\n${EVENT}\n`)
    expect(await recoverEventLog(path.join(root, 'missing.jsonl'))).toBeNull()
  })
})

describe('run.lock', () => {
  async function runFolder(name: string): Promise<string> {
    const dir = path.join(root, name)
    await mkdir(dir, {recursive: true})
    return dir
  }

  it('is taken by one holder at a time, names it, and is removed on release', async () => {
    const dir = await runFolder('lock-once')
    const lock = await acquireRunLock(dir)
    const onDisk = await readJson(path.join(dir, 'run.lock'), RunLock)
    expect(onDisk).toMatchObject({pid: process.pid, host: os.hostname()})
    const error = await acquireRunLock(dir).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).exitCode).toBe(EXIT.input)
    expect((error as InputError).message).toMatch(
      new RegExp(`^Run lock-once is in use by another studio process: pid ${process.pid} on ${os.hostname()}, since `),
    )
    expect((error as InputError).hint).toContain(`kill ${process.pid}`)
    await lock.release()
    await expect(readFile(path.join(dir, 'run.lock'))).rejects.toThrow(/ENOENT/)
    await lock.release() // twice is harmless
    await (await acquireRunLock(dir)).release()
  })

  it('release leaves a lock that someone else holds by then', async () => {
    const dir = await runFolder('lock-replaced')
    const lock = await acquireRunLock(dir)
    const other = {pid: 4242, host: 'elsewhere.example', since: '2026-12-05T08:00:00.000Z', token: 'theirs'}
    await writeFile(lock.file, JSON.stringify(other))
    await lock.release()
    expect(await readJson(lock.file, RunLock)).toEqual(other)
  })

  it('leaves a lock from another host alone and says how to remove it', async () => {
    const dir = await runFolder('lock-other-host')
    await writeFile(
      path.join(dir, 'run.lock'),
      JSON.stringify({pid: 4242, host: 'elsewhere.example', since: '2026-12-05T08:00:00.000Z', token: 'theirs'}),
    )
    const error = (await acquireRunLock(dir).catch((e: unknown) => e)) as InputError
    expect(error.exitCode).toBe(EXIT.input)
    expect(error.message).toBe(
      'Run lock-other-host is locked by process 4242 on host elsewhere.example (since 2026-12-05T08:00:00.000Z): studio cannot tell from here whether it is still running',
    )
    expect(error.hint).toContain(`delete ${path.join(dir, 'run.lock')} and run the command again`)
  })

  it('takes over the lock of a dead process on this host, and says so', async () => {
    const dir = await runFolder('lock-stale')
    // Far above any pid_max: no such process.
    await writeFile(path.join(dir, 'run.lock'), JSON.stringify({pid: 2 ** 30, host: os.hostname(), since: 'then', token: 'gone'}))
    const messages: string[] = []
    const lock = await acquireRunLock(dir, {onTakeOver: (m) => messages.push(m)})
    expect(messages).toEqual([
      `Took over the lock of run lock-stale from process ${2 ** 30} on ${os.hostname()}, which is no longer running (it was killed or crashed)`,
    ])
    expect((await readJson(lock.file, RunLock)).token).toBe(lock.owner.token)
    await lock.release()
  })

  it('reports a lock file that is not a lock as corrupt (exit 3)', async () => {
    const dir = await runFolder('lock-garbage')
    await writeFile(path.join(dir, 'run.lock'), 'not json')
    const error = (await acquireRunLock(dir).catch((e: unknown) => e)) as CorruptFileError
    expect(error).toBeInstanceOf(CorruptFileError)
    expect(error.exitCode).toBe(EXIT.corrupt)
  })
})

describe('resumeTraining and the pair set', () => {
  it('tries a skipped pair again when the run stopped before trial 0 began, and refuses a run another holder has locked', async () => {
    const pairs = path.join(root, 'pairs')
    await cp(EXAMPLE_PAIRS, pairs, {recursive: true})
    const {runDir: finished} = await mockTrainingRun(path.join(root, 'pair-set'), {pairsDir: pairs, maxTrials: 1})
    const runDir = await interruptedCopy(finished, path.join(root, 'pair-set-copy'))
    await skipBeforeTrials(runDir, 'soil-microbiome-drought', {trialBegun: false})

    const held = await acquireRunLock(runDir)
    const refused = (await resumeTraining({runDir, providers: mockProviders(), toolVersion: 'test'}).catch((e: unknown) => e)) as InputError
    expect(refused.exitCode).toBe(EXIT.input)
    expect(refused.message).toContain('is in use by another studio process')
    await held.release()

    const {report} = await resumeTraining({runDir, providers: mockProviders(), toolVersion: 'test'})
    expect(report.pairs).toContain('soil-microbiome-drought')
    expect(report.skipped_pairs).toEqual([])
    expect(report.trials[0]!.pairs.map((p) => p.pair_id)).toEqual(report.pairs)
    await expect(readFile(path.join(runDir, 'run.lock'))).rejects.toThrow(/ENOENT/)
  })
})
