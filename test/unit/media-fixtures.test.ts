import {createHash} from 'node:crypto'
import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {MEDIA_DIR, MEDIA_RECORD} from '../helpers/media-fixtures.js'

describe('the committed media fixtures', () => {
  it('are exactly the files media.json records, byte for byte', async () => {
    const names = (await readdir(MEDIA_DIR)).filter((name) => name !== 'media.json' && name !== 'README.md')
    expect(names.sort()).toEqual(Object.keys(MEDIA_RECORD.files).sort())
    for (const [name, record] of Object.entries(MEDIA_RECORD.files)) {
      const bytes = await readFile(path.join(MEDIA_DIR, name))
      expect(bytes.length, name).toBe(record.bytes)
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(record.sha256)
    }
  })

  it('each say how they were made and what ffprobe measured in them', () => {
    expect(MEDIA_RECORD.regenerate).toMatch(/node scripts\/make-media-fixtures\.mjs/)
    expect(Object.keys(MEDIA_RECORD.tools).sort()).toEqual(['espeak-ng', 'ffmpeg', 'ffprobe', 'lame'])
    for (const [name, record] of Object.entries({...MEDIA_RECORD.files, ...MEDIA_RECORD.sources})) {
      expect(record.made_with.length, name).toBeGreaterThan(0)
      expect(record.ffprobe.duration_seconds, name).toBeGreaterThan(0)
      expect(record.ffprobe.packets, name).toBeGreaterThan(0)
    }
  })

  it('stay small: under 1 MB in all', () => {
    const total = Object.values(MEDIA_RECORD.files).reduce((sum, file) => sum + file.bytes, 0)
    expect(total).toBeLessThan(1_000_000)
  })
})
