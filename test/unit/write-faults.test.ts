/**
 * Writes refused by the environment, in process: the mapping of error codes to
 * FileSystemErrors (src/core/fs-errors.ts), the write helpers under injected faults, and
 * mock runs whose chosen writes fail with ENOSPC, then resume to the uninterrupted report.
 * (test/e2e/disk-full.test.ts does the same through the built CLI.)
 */
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {EXIT} from '../../src/core/errors.js'
import {EventLog, readEventLog, recoverEventLog} from '../../src/core/event-log.js'
import {
  faultFromEnvironment,
  FileSystemError,
  fileSystemError,
  injectWriteFault,
  isNoSpace,
  systemError,
  type PlannedWrite,
} from '../../src/core/fs-errors.js'
import {RunManifest, type TrainingReport} from '../../src/core/schemas/files.js'
import {makeDir, writeFileAtomic} from '../../src/core/store.js'
import {DiskCache} from '../../src/providers/cache.js'
import {mockProviders} from '../../src/providers/mock/index.js'
import {resumeTraining} from '../../src/training/run/trainer.js'
import {parseJson} from '../helpers/json.js'
import {makeTempDir, removeDir} from '../helpers/media.js'
import {mockTrainingRun} from '../helpers/training.js'

let root = ''
beforeAll(async () => {
  root = await makeTempDir('studio-write-faults-')
})
afterAll(async () => {
  await removeDir(root)
})
afterEach(() => injectWriteFault(null))

function errno(code: string, file = '/x'): NodeJS.ErrnoException {
  return systemError(code, {file, operation: 'write'})
}

describe('fileSystemError', () => {
  it.each([
    ['ENOSPC', EXIT.noSpace, /^No space left on device while writing \/out\/a\.json: free space or choose another --output-dir$/, /df -h/],
    ['EDQUOT', EXIT.noSpace, /^Disk quota exceeded while writing \/out\/a\.json: free space/, /quota/],
    ['EROFS', EXIT.input, /^Cannot write \/out\/a\.json: the file system is read-only$/, /writable disk/],
    ['EACCES', EXIT.input, /^Cannot write \/out\/a\.json: permission denied$/, /Make \/out writable/],
    ['EPERM', EXIT.input, /^Cannot write \/out\/a\.json: permission denied$/, /Make \/out writable/],
    ['ENAMETOOLONG', EXIT.input, /^Cannot write \/out\/a\.json: the path is too long/, /shorter --output-dir/],
  ])('%s: exit %i, the path in the message and a fix in the hint', (code, exitCode, message, hint) => {
    const error = fileSystemError(errno(code), '/out/a.json', 'write')
    expect(error).toBeInstanceOf(FileSystemError)
    const e = error as FileSystemError
    expect([e.exitCode, e.code, e.path]).toEqual([exitCode, code, '/out/a.json'])
    expect(e.message).toMatch(message)
    expect(e.hint).toMatch(hint)
    expect(isNoSpace(e)).toBe(exitCode === EXIT.noSpace)
  })

  it('leaves an error it cannot explain (EIO, no code) as it is: a bug report', () => {
    const eio = errno('EIO')
    expect(fileSystemError(eio, '/out/a.json', 'write')).toBe(eio)
    const plain = new Error('boom')
    expect(fileSystemError(plain, '/out/a.json', 'write')).toBe(plain)
  })

  it('names the file that stands where a folder should be: exit 2 in the output folder', async () => {
    const dir = path.join(root, 'misplaced')
    await mkdir(dir, {recursive: true})
    await writeFile(path.join(dir, 'out'), 'a file')
    for (const [code, target] of [
      ['EEXIST', path.join(dir, 'out')],
      ['ENOTDIR', path.join(dir, 'out', 'sub')],
    ] as const) {
      const e = fileSystemError(errno(code), target, 'mkdir') as FileSystemError
      expect(e).toBeInstanceOf(FileSystemError)
      expect(e.exitCode).toBe(EXIT.input)
      expect(e.path).toBe(path.join(dir, 'out'))
      expect(e.message).toContain(path.join(dir, 'out'))
      expect(e.message).toMatch(/ is a file, where studio needs a folder$/)
      expect(e.hint).toContain(`Move or remove ${path.join(dir, 'out')}`)
    }
  })

  it('a folder where studio writes a file inside a run folder: exit 3, the run folder is damaged, resume rewrites it', async () => {
    const run = path.join(root, 'damaged', 'run-20261205T000000Z')
    await mkdir(path.join(run, 'aggregate_profile.json'), {recursive: true})
    await writeFile(path.join(run, 'run.json'), '{}')
    const file = path.join(run, 'aggregate_profile.json')
    const e = fileSystemError(errno('EISDIR'), file, 'write') as FileSystemError
    expect(e.exitCode).toBe(EXIT.corrupt)
    expect(e.message).toBe(`Cannot write ${file}: it is a folder, where studio needs a file (or link): the run folder is damaged`)
    expect(e.hint).toContain(`studio training run --resume ${run}`)
  })
})

describe('reading a unit back', () => {
  it('run.json that is a folder: --resume fails with exit 3, the run folder is damaged', async () => {
    const runDir = path.join(root, 'read', 'run-20261205T000000Z')
    await mkdir(path.join(runDir, 'run.json'), {recursive: true})
    const error = await resumeTraining({runDir, providers: mockProviders(), toolVersion: 'test'}).catch((e: unknown) => e)
    expect(error).toMatchObject({
      exitCode: EXIT.corrupt,
      path: path.join(runDir, 'run.json'),
      message: `Cannot read ${path.join(runDir, 'run.json')}: it is a folder, where studio needs a file (or link): the run folder is damaged`,
    })
  })
})

describe('the write helpers under an injected fault', () => {
  it('writeFileAtomic keeps the old file whole and leaves no temp file; makeDir maps its errors too', async () => {
    const dir = path.join(root, 'atomic')
    await makeDir(dir, {recursive: true})
    const file = path.join(dir, 'a.json')
    await writeFileAtomic(file, '{"old": true}\n')
    injectWriteFault((w) => (w.file === file ? systemError('ENOSPC', w) : null))
    await expect(writeFileAtomic(file, '{"new": true}\n')).rejects.toMatchObject({code: 'ENOSPC', exitCode: EXIT.noSpace, path: file})
    expect(await readFile(file, 'utf8')).toBe('{"old": true}\n')
    expect(await readdir(dir)).toEqual(['a.json'])
    injectWriteFault((w) => (w.operation === 'mkdir' ? systemError('EROFS', w) : null))
    await expect(makeDir(path.join(dir, 'sub'))).rejects.toMatchObject({code: 'EROFS', exitCode: EXIT.input})
  })

  it('an event append cut short is cut off by the next append, or by recoverEventLog when the process died', async () => {
    const file = path.join(root, 'events.jsonl')
    const log = new EventLog(file)
    const event = (message: string) => ({type: 'warning' as const, time: new Date(0).toISOString(), message})
    log.append(event('one'))
    injectWriteFault((w) => Object.assign(systemError('ENOSPC', w), {torn: true}))
    expect(() => log.append(event('two'))).toThrow(/No space left on device while appending to/)
    expect(await readFile(file, 'utf8')).not.toMatch(/\n$/)
    injectWriteFault(null)
    log.append(event('three'))
    expect((await readEventLog(file)).map((e) => (e.type === 'warning' ? e.message : ''))).toEqual(['one', 'three'])

    await writeFile(file, '{"type":"warn', {flag: 'a'})
    expect(await recoverEventLog(file)).toMatchObject({bytes: 13})
    expect(await recoverEventLog(file)).toBeNull()
    expect((await readFile(file, 'utf8')).endsWith('"three"}\n')).toBe(true)
  })

  it('the response cache: a full disk stops the run (exit 6), another refusal stays its own input error', async () => {
    const cache = new DiskCache(path.join(root, 'cache'))
    injectWriteFault((w) => systemError('ENOSPC', w))
    await expect(cache.set({a: 1}, {b: 2})).rejects.toMatchObject({code: 'ENOSPC', exitCode: EXIT.noSpace})
    injectWriteFault((w) => (w.operation === 'write' ? systemError('EACCES', w) : null))
    await expect(cache.set({a: 1}, {b: 2})).rejects.toMatchObject({
      exitCode: EXIT.input,
      message: `Cannot write to the response cache in ${path.join(root, 'cache')}: EACCES`,
    })
  })

  it('STUDIO_TEST_FAIL_WRITE=<n>[+][:<CODE>]: the n-th write (folders not counted), and every later one with +', () => {
    const write: PlannedWrite = {file: '/f', operation: 'write'}
    const once = faultFromEnvironment('2:EROFS')!
    expect([once(write), once({file: '/d', operation: 'mkdir'}), once(write)?.code, once(write)]).toEqual([null, null, 'EROFS', null])
    const stays = faultFromEnvironment('1+')!
    expect([stays(write)?.code, stays(write)?.code]).toEqual(['ENOSPC', 'ENOSPC'])
    expect(faultFromEnvironment(undefined)).toBeNull()
    expect(() => faultFromEnvironment('soon')).toThrow(/STUDIO_TEST_FAIL_WRITE/)
  })
})

/** Timestamps, run ids and folder names differ between runs; nothing else may. */
function comparable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) =>
      ['started_at', 'finished_at', 'dir', 'run_id', 'output_dir', 'time'].includes(key) ? '<varies>' : v,
    ),
  )
}

describe('a mock run whose chosen write fails with ENOSPC', () => {
  let uninterrupted: TrainingReport
  beforeAll(async () => {
    uninterrupted = (await mockTrainingRun(path.join(root, 'whole'), {maxTrials: 2})).report
  })

  it.each([
    {at: 'a pair analysis', fails: (w: PlannedWrite) => w.file.endsWith('analysis.json')},
    {at: 'a result of trial 1', fails: (w: PlannedWrite) => /trial_001_.*_result\.json$/.test(w.file)},
    {at: 'the training report', fails: (w: PlannedWrite) => w.file.endsWith('training_report.json')},
  ])('fails at $at with exit 6, marks the run failed, and resumes to the same report', async ({at, fails}) => {
    const out = path.join(root, at.replaceAll(' ', '-'))
    let injected = false
    injectWriteFault((w) => {
      if (injected || !fails(w)) return null
      injected = true
      return systemError('ENOSPC', w)
    })
    const error = await mockTrainingRun(out, {maxTrials: 2}).catch((e: unknown) => e)
    injectWriteFault(null)
    expect(error).toBeInstanceOf(FileSystemError)
    const e = error as FileSystemError
    expect(e.exitCode).toBe(EXIT.noSpace)
    expect(e.message).toBe(`No space left on device while writing ${e.path}: free space or choose another --output-dir`)
    const [runId] = await readdir(path.join(out, 'out')).then((names) => names.filter((n) => n.startsWith('run-')))
    const runDir = path.join(out, 'out', runId!)
    expect(e.hint).toContain(`studio training run --resume ${runDir}`)
    const manifest = parseJson(await readFile(path.join(runDir, 'run.json'), 'utf8'), RunManifest)
    expect([manifest.status, manifest.error]).toEqual(['failed', e.message])

    const resumed = await resumeTraining({runDir, providers: mockProviders(), toolVersion: 'test'})
    expect(resumed.report.trials.map((t) => t.mean_losses)).toEqual(uninterrupted.trials.map((t) => t.mean_losses))
    expect(comparable(resumed.report)).toEqual(comparable(uninterrupted))
  })

  it('a disk that fills up in the middle of an event line and stays full: the torn half is cut, the run resumes', async () => {
    const out = path.join(root, 'stays-full')
    let appends = 0
    let full = false
    injectWriteFault((w) => {
      if (!full && w.operation === 'append' && ++appends === 8) {
        full = true
        return Object.assign(systemError('ENOSPC', w), {torn: true})
      }
      return full ? systemError('ENOSPC', w) : null
    })
    const error = await mockTrainingRun(out, {maxTrials: 2}).catch((e: unknown) => e)
    injectWriteFault(null)
    expect(error).toMatchObject({code: 'ENOSPC', exitCode: EXIT.noSpace})
    const [runId] = await readdir(path.join(out, 'out')).then((names) => names.filter((n) => n.startsWith('run-')))
    const runDir = path.join(out, 'out', runId!)
    // The next append (refused: the disk is still full) cut the torn half first: a truncation needs no space.
    expect(await readFile(path.join(runDir, 'events.jsonl'), 'utf8')).toMatch(/\n$/)
    expect(await readEventLog(path.join(runDir, 'events.jsonl'))).toHaveLength(7)
    // run.json could not be marked: it says `running`, with a pid that is gone.
    expect(parseJson(await readFile(path.join(runDir, 'run.json'), 'utf8'), RunManifest).status).toBe('running')

    const resumed = await resumeTraining({runDir, providers: mockProviders(), toolVersion: 'test'})
    expect(comparable(resumed.report)).toEqual(comparable(uninterrupted))
    expect((await readEventLog(path.join(runDir, 'events.jsonl'))).at(-1)?.type).toBe('run-finished')
  })

  it('--resume of a run folder with a folder where a file goes: exit 3, the run folder is damaged', async () => {
    const out = path.join(root, 'damaged')
    injectWriteFault((w) => (w.file.endsWith('analysis.json') ? systemError('ENOSPC', w) : null))
    const failed = await mockTrainingRun(out, {maxTrials: 1}).catch((e: unknown) => e)
    injectWriteFault(null)
    expect(failed).toMatchObject({exitCode: EXIT.noSpace})
    const [runId] = await readdir(path.join(out, 'out'))
    const runDir = path.join(out, 'out', runId!)
    const profile = path.join(runDir, 'aggregate_profile.json')
    await mkdir(profile)
    const error = await resumeTraining({runDir, providers: mockProviders(), toolVersion: 'test'}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FileSystemError)
    const e = error as FileSystemError
    expect([e.exitCode, e.path]).toEqual([EXIT.corrupt, profile])
    expect(e.message).toBe(`Cannot write ${profile}: it is a folder, where studio needs a file (or link): the run folder is damaged`)
    expect(e.hint).toBe(
      `Move or remove ${profile}, then continue the run with \`studio training run --resume ${runDir}\`: it writes it again.`,
    )
  })
})
