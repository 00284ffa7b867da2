import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {
  MAX_NAME_BYTES,
  outputPaths,
  pairSlug,
  runFolderName,
  runPaths,
  shortenName,
  trialFolderName,
  trialIndexOf,
  trialPairFiles,
} from '../../src/core/layout.js'

describe('the run folder layout', () => {
  const started = new Date(Date.UTC(2026, 10, 23, 9, 16, 0, 123))

  it('names run and trial folders by their start time, sortable and unique per attempt', () => {
    expect(runFolderName(started)).toBe('run-20261123T091600Z')
    expect(runFolderName(started, 2)).toBe('run-20261123T091600Z-2')
    expect(trialFolderName(7, started)).toBe('trial_007_20261123T091600Z')
    expect(trialFolderName(1234, started)).toBe('trial_1234_20261123T091600Z')
  })

  it('reads a trial number back from a trial folder name only', () => {
    expect(trialIndexOf('trial_007_20261123T091600Z')).toBe(7)
    expect(trialIndexOf('trial_1234_20261123T091600Z')).toBe(1234)
    expect(trialIndexOf('trial_7_x')).toBeNull()
    expect(trialIndexOf('pairs')).toBeNull()
  })

  it('keeps nested pair ids to one path component', () => {
    expect(pairSlug('2024/talk')).toBe('2024__talk')
    expect(trialPairFiles('2024/talk')).toEqual({
      script: '2024__talk_script.txt',
      result: '2024__talk_result.json',
      audio: '2024__talk_audio.mp3',
    })
  })

  it('shortens long names with a hash: on a UTF-8 boundary, deterministic, never equal to another name', () => {
    const bytes = (s: string) => Buffer.byteLength(s, 'utf8')
    expect(shortenName('a'.repeat(MAX_NAME_BYTES))).toBe('a'.repeat(MAX_NAME_BYTES))
    const cjk = '研'.repeat(75) // 225 bytes
    const short = shortenName(cjk)
    expect(short).toMatch(/^研{33}-[0-9a-f]{8}$/) // 99 bytes: the 34th character would cut at byte 100
    expect(shortenName(cjk)).toBe(short)
    expect(bytes(short)).toBeGreaterThan(MAX_NAME_BYTES)
    expect(bytes(short)).toBeLessThanOrEqual(MAX_NAME_BYTES + 9)
    // Same first 100 bytes, different names: different results.
    expect(shortenName('研'.repeat(74) + '究')).not.toBe(short)
    expect(shortenName('x'.repeat(101))).not.toBe(shortenName('x'.repeat(102)))
    expect(shortenName('x'.repeat(101))).toMatch(/^x{100}-[0-9a-f]{8}$/)
    // Emoji (4 bytes) and combining marks are cut before the character, never inside it.
    expect(shortenName('😀'.repeat(40))).toMatch(/^(😀){25}-[0-9a-f]{8}$/)
    expect(pairSlug(`2024/${cjk}`)).toBe(shortenName(`2024__${cjk}`))
    const files = trialPairFiles(cjk)
    expect(files.result).toBe(`${short}_result.json`)
    expect(runPaths('/out/run-1').pair(cjk).dir).toBe(path.join('/out/run-1', 'pairs', short))
  })

  it('puts every file where TRAINING.md says it is', () => {
    const run = runPaths('/out/run-1')
    expect(run.manifest).toBe(path.join('/out/run-1', 'run.json'))
    expect(run.events).toBe(path.join('/out/run-1', 'events.jsonl'))
    expect(run.report).toBe(path.join('/out/run-1', 'training_report.json'))
    expect(run.htmlReport).toBe(path.join('/out/run-1', 'training_report.html'))
    expect(run.calibratedPrompt).toBe(path.join('/out/run-1', 'calibrated_prompt.md'))
    expect(run.aggregateProfile).toBe(path.join('/out/run-1', 'aggregate_profile.json'))
    expect(run.pair('a/b')).toEqual({
      dir: path.join('/out/run-1', 'pairs', 'a__b'),
      analysis: path.join('/out/run-1', 'pairs', 'a__b', 'analysis.json'),
      transcript: path.join('/out/run-1', 'pairs', 'a__b', 'transcript.json'),
      paperText: path.join('/out/run-1', 'pairs', 'a__b', 'paper.txt'),
    })
    const trial = run.trial('trial_000_x')
    expect(trial.prompt).toBe(path.join('/out/run-1', 'trial_000_x', 'prompt.json'))
    expect(trial.results).toBe(path.join('/out/run-1', 'trial_000_x', 'results.json'))
    expect(trial.pair('p').script).toBe(path.join('/out/run-1', 'trial_000_x', 'p_script.txt'))
    expect(outputPaths('/out')).toMatchObject({registry: path.join('/out', 'registry.json'), latest: path.join('/out', 'latest')})
  })
})
