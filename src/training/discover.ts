/**
 * Pair discovery: which papers and episodes belong together, which sidecar
 * transcripts go with them, and which files have no partner. Works on names only;
 * no file is opened here, so listing a folder of hour-long episodes stays cheap.
 */
import {readdir, realpath, stat} from 'node:fs/promises'
import path from 'node:path'

import {InputError} from './errors.js'
import type {Orphan, PairFiles, SidecarFormat} from './schemas.js'

export interface Discovery {
  root: string
  pairs: PairFiles[]
  orphans: Orphan[]
}

type Role = 'pdf' | 'mp3' | SidecarFormat

/** Sidecars in order of preference when several sit next to one episode. */
const SIDECAR_PREFERENCE: SidecarFormat[] = ['json', 'vtt', 'srt']

function classify(fileName: string): {base: string; role: Role} | null {
  const lower = fileName.toLowerCase()
  if (lower.endsWith('.transcript.json')) return {base: fileName.slice(0, -'.transcript.json'.length), role: 'json'}
  const ext = path.extname(lower)
  const base = fileName.slice(0, fileName.length - ext.length)
  if (!base) return null
  switch (ext) {
    case '.pdf':
      return {base, role: 'pdf'}
    case '.mp3':
      return {base, role: 'mp3'}
    case '.vtt':
      return {base, role: 'vtt'}
    case '.srt':
      return {base, role: 'srt'}
    default:
      return null
  }
}

interface Group {
  folder: string
  base: string
  files: Partial<Record<Role, string[]>>
}

export async function discoverPairs(pairsDir: string): Promise<Discovery> {
  const root = path.resolve(pairsDir)
  let rootStat
  try {
    rootStat = await stat(root)
  } catch {
    throw new InputError(`Pairs folder not found: ${root}`, {
      path: root,
      hint: 'Pass --pairs-dir with a folder that holds pairs like paper.pdf + paper.mp3, or run from the project root to use artifacts/training_data.',
    })
  }
  if (!rootStat.isDirectory()) {
    throw new InputError(`Pairs folder is not a folder: ${root}`, {
      path: root,
      hint: 'Pass --pairs-dir with the folder that contains the .pdf and .mp3 files, not a file.',
    })
  }

  const groups = new Map<string, Group>()
  const orphans: Orphan[] = []
  const visited = new Set<string>()

  async function walk(dir: string): Promise<void> {
    // Real paths break symlink loops and avoid listing one folder twice via two links.
    const real = await realpath(dir)
    if (visited.has(real)) return
    visited.add(real)
    let entries
    try {
      entries = await readdir(dir, {withFileTypes: true})
    } catch (error) {
      orphans.push({path: dir, reason: `folder could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); its files were not considered`})
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const full = path.join(dir, entry.name)
      let isDir = entry.isDirectory()
      let isFile = entry.isFile()
      if (entry.isSymbolicLink()) {
        try {
          const target = await stat(full)
          isDir = target.isDirectory()
          isFile = target.isFile()
        } catch {
          orphans.push({path: full, reason: 'broken symbolic link'})
          continue
        }
      }
      if (isDir) {
        await walk(full)
        continue
      }
      if (!isFile) continue
      const kind = classify(entry.name)
      if (!kind) continue
      const folder = path.relative(root, dir).split(path.sep).join('/')
      const key = `${folder}\u0000${kind.base}`
      let group = groups.get(key)
      if (!group) groups.set(key, (group = {folder, base: kind.base, files: {}}))
      ;(group.files[kind.role] ??= []).push(full)
    }
  }

  await walk(root)

  const complete = [...groups.values()].filter((g) => g.files.pdf && g.files.mp3)
  const baseCounts = new Map<string, number>()
  for (const g of complete) baseCounts.set(g.base, (baseCounts.get(g.base) ?? 0) + 1)

  const pairs: PairFiles[] = []
  for (const group of groups.values()) {
    const {pdf, mp3} = group.files
    if (pdf && mp3) {
      const id = (baseCounts.get(group.base) ?? 0) > 1 && group.folder ? `${group.folder}/${group.base}` : group.base
      const sidecarFormat = SIDECAR_PREFERENCE.find((f) => group.files[f])
      const sidecarPath = sidecarFormat ? group.files[sidecarFormat]![0]! : null
      pairs.push({
        id,
        folder: group.folder,
        pdf: pdf[0]!,
        mp3: mp3[0]!,
        sidecar: sidecarPath ? {path: sidecarPath, format: sidecarFormat!} : null,
      })
      // Two files differing only in extension case (x.pdf and x.PDF) cannot both be used.
      for (const extra of [...pdf.slice(1), ...mp3.slice(1)]) {
        orphans.push({path: extra, reason: `another file with the same name was paired instead (${path.basename(pdf[0]!)} + ${path.basename(mp3[0]!)})`})
      }
      for (const format of SIDECAR_PREFERENCE) {
        for (const extra of group.files[format] ?? []) {
          if (extra !== sidecarPath) orphans.push({path: extra, reason: `ignored: ${path.basename(sidecarPath!)} is preferred as the transcript of this episode`})
        }
      }
      continue
    }
    for (const file of pdf ?? []) {
      orphans.push({path: file, reason: `paper without an episode: expected ${group.base}.mp3 next to it`})
    }
    for (const file of mp3 ?? []) {
      orphans.push({path: file, reason: `episode without a paper: expected ${group.base}.pdf next to it`})
    }
    for (const format of SIDECAR_PREFERENCE) {
      for (const file of group.files[format] ?? []) {
        orphans.push({path: file, reason: `transcript without an episode: expected ${group.base}.mp3 and ${group.base}.pdf next to it`})
      }
    }
  }

  if (pairs.length === 0 && orphans.length === 0) {
    throw new InputError(`No pairs found in ${root}: it holds no .pdf or .mp3 files`, {
      path: root,
      hint: 'Put each paper and its episode side by side with the same base name, e.g. my-paper.pdf and my-paper.mp3.',
    })
  }

  pairs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  orphans.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return {root, pairs, orphans}
}

/** A pair id made safe as one path component (ids of nested duplicates contain "/"). */
export function pairSlug(id: string): string {
  return id.replaceAll('/', '__')
}
