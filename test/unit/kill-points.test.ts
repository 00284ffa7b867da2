import {mkdir, readdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {killPlanFromEnvironment} from '../../src/core/kill-points.js'
import {removeStaleTempFiles, tempName} from '../../src/core/store.js'
import {makeTempDir, removeDir} from '../helpers/media.js'

describe('STUDIO_TEST_KILL', () => {
  it('is <point>:<n>, and anything else is refused so that a mistyped test cannot pass without killing', () => {
    expect(killPlanFromEnvironment(undefined)).toBeNull()
    expect(killPlanFromEnvironment('before-rename:7')).toEqual({point: 'before-rename', nth: 7})
    expect(killPlanFromEnvironment('mid-append:1')).toEqual({point: 'mid-append', nth: 1})
    for (const bad of ['after-append', 'after-append:0', 'after-rename:3', 'mid-append:x'])
      expect(() => killPlanFromEnvironment(bad), bad).toThrow(/STUDIO_TEST_KILL must be <point>:<n>/)
  })
})

describe('removeStaleTempFiles', () => {
  let dir = ''
  beforeAll(async () => {
    dir = await makeTempDir('studio-unit-temp-')
  })
  afterAll(async () => {
    await removeDir(dir)
  })

  it('removes the temp files of writers that are gone, in subfolders with recursive, and nothing else', async () => {
    const dead = 999_999_999
    const mine = tempName('registry.json')
    await mkdir(path.join(dir, 'pairs'))
    for (const name of [mine, `.registry.json.${dead}.0a1b2c3d.tmp`, 'notes.tmp', '.hidden', 'run.json'])
      await writeFile(path.join(dir, name), '')
    await writeFile(path.join(dir, 'pairs', `.analysis.json.${dead}.00ff00ff.tmp`), '')

    await removeStaleTempFiles(dir, {isStale: (pid) => pid !== process.pid})
    expect((await readdir(dir)).sort()).toEqual(['.hidden', mine, 'notes.tmp', 'pairs', 'run.json'].sort())
    expect(await readdir(path.join(dir, 'pairs'))).toHaveLength(1)

    await removeStaleTempFiles(dir, {recursive: true, isStale: () => true})
    expect((await readdir(dir)).sort()).toEqual(['.hidden', 'notes.tmp', 'pairs', 'run.json'].sort())
    expect(await readdir(path.join(dir, 'pairs'))).toEqual([])
  })
})
