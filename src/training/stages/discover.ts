/**
 * Pair discovery: which papers and episodes belong together, which sidecar
 * transcripts go with them, and which files have no partner. Works on names only;
 * no file is opened here (only stat'ed), so listing a folder of hour-long episodes stays cheap.
 *
 * Papers: .pdf, .docx, .md, .txt; episodes: .mp3, .m4a, .ogg, .wav. When several files
 * share a base name, the preferred format is used (pdf > docx > md > txt, mp3 > m4a >
 * ogg > wav) and the others are listed as orphans.
 */
import {statSync} from 'node:fs'
import {readdir, realpath, stat} from 'node:fs/promises'
import path from 'node:path'

import {InputError} from '../../core/errors.js'
import {fileKind} from '../../core/input-file.js'
import {EPISODE_EXTENSIONS} from '../../media/audio.js'
import {PAPER_EXTENSIONS} from '../../media/paper.js'
import type {EpisodeFormat, PaperFormat, SidecarFormat} from '../../core/schemas/common.js'
import type {Orphan, PairFiles} from '../../core/schemas/inputs.js'

export interface Discovery {
  root: string
  pairs: PairFiles[]
  orphans: Orphan[]
}

/** Which paper to use when several share a base name: pdf > docx > md > txt (then any other accepted one). */
const PAPER_PREFERENCE: readonly string[] = [...new Set(['.pdf', '.docx', '.md', '.txt', ...PAPER_EXTENSIONS])].filter((ext) =>
  (PAPER_EXTENSIONS as readonly string[]).includes(ext),
)

type Role = 'paper' | 'episode' | SidecarFormat

/** Sidecars in order of preference when several sit next to one episode. */
const SIDECAR_PREFERENCE: SidecarFormat[] = ['json', 'vtt', 'srt']

function classify(fileName: string): {base: string; role: Role; ext: string} | null {
  const lower = fileName.toLowerCase()
  if (lower.endsWith('.transcript.json')) return {base: fileName.slice(0, -'.transcript.json'.length), role: 'json', ext: 'transcript.json'}
  const ext = path.extname(lower)
  const base = fileName.slice(0, fileName.length - ext.length)
  if (!base) return null
  if ((PAPER_EXTENSIONS as readonly string[]).includes(ext)) return {base, role: 'paper', ext: ext.slice(1)}
  if ((EPISODE_EXTENSIONS as readonly string[]).includes(ext)) return {base, role: 'episode', ext: ext.slice(1)}
  if (ext === '.vtt') return {base, role: 'vtt', ext: 'vtt'}
  if (ext === '.srt') return {base, role: 'srt', ext: 'srt'}
  return null
}

interface Found {
  path: string
  /** Extension without the dot, lower case. */
  ext: string
}

interface Group {
  folder: string
  base: string
  files: Partial<Record<Role, Found[]>>
}

/** Best first: by extension preference, then by name (x.PDF and x.pdf: the same order every time). */
function byPreference(order: readonly string[]): (a: Found, b: Found) => number {
  return (a, b) => order.indexOf(`.${a.ext}`) - order.indexOf(`.${b.ext}`) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? 'error'
}

const ALL_EXTENSIONS = `${PAPER_PREFERENCE.join(', ')} or ${EPISODE_EXTENSIONS.join(', ')}`

export async function discoverPairs(pairsDir: string): Promise<Discovery> {
  const root = path.resolve(pairsDir)
  let rootStat
  try {
    rootStat = await stat(root)
  } catch (error) {
    if (errorCode(error) === 'EACCES') {
      throw new InputError(`Pairs folder cannot be read: ${root} (EACCES: permission denied)`, {
        path: root,
        hint: 'Check the permissions of the folder and of the folders above it.',
      })
    }
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
    let real: string
    let entries
    try {
      real = await realpath(dir)
      if (visited.has(real)) return
      visited.add(real)
      entries = await readdir(dir, {withFileTypes: true})
    } catch (error) {
      orphans.push({path: dir, reason: `folder could not be read (${errorCode(error)}); its files were not considered`})
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    // One stat per candidate: a file whose folder cannot be searched (no x permission) shows
    // up here instead of as a read error later. Synchronous: a stat takes microseconds, an
    // asynchronous one a round trip through libuv's thread pool that costs more CPU than
    // that, hundreds of times over for a folder of hundreds of pairs (input-file.ts,
    // openInputFile).
    const kinds = await Promise.all(
      entries.map(async (entry) => {
        const full = path.join(dir, entry.name)
        const kind = classify(entry.name)
        if (entry.isDirectory()) return {full, isDir: true, kind}
        // A file system without entry types (DT_UNKNOWN) needs a stat to tell folders from files.
        const typeUnknown =
          !entry.isFile() &&
          !entry.isSymbolicLink() &&
          !entry.isFIFO() &&
          !entry.isSocket() &&
          !entry.isCharacterDevice() &&
          !entry.isBlockDevice()
        if (!entry.isSymbolicLink() && !kind && !typeUnknown) return null // not ours: never stat'ed
        try {
          const target = statSync(full)
          return {full, isDir: target.isDirectory(), isFile: target.isFile(), what: fileKind(target), kind}
        } catch (error) {
          const code = errorCode(error)
          if (entry.isSymbolicLink()) {
            orphans.push({
              path: full,
              reason:
                code === 'ELOOP'
                  ? 'symbolic link loop (ELOOP): it points back to itself'
                  : code === 'ENOENT'
                    ? 'broken symbolic link'
                    : `symbolic link could not be followed (${code})`,
            })
          } else {
            orphans.push({path: full, reason: `cannot be read (${code}): check the permissions of the file and its folder`})
          }
          return null
        }
      }),
    )
    for (const found of kinds) {
      if (!found) continue
      if (found.isDir) {
        // A folder named like a file (x.pdf/) is a folder: walked, never paired.
        await walk(found.full)
        continue
      }
      if (!('isFile' in found) || !found.kind) continue
      if (!found.isFile) {
        // A FIFO or a device named like a paper or an episode: never read (it would never end).
        orphans.push({path: found.full, reason: `${found.what}, not a regular file: studio reads regular files only`})
        continue
      }
      const {kind} = found
      const folder = path.relative(root, dir).split(path.sep).join('/')
      const key = `${folder}\u0000${kind.base}`
      let group = groups.get(key)
      if (!group) groups.set(key, (group = {folder, base: kind.base, files: {}}))
      ;(group.files[kind.role] ??= []).push({path: found.full, ext: kind.ext})
    }
  }

  await walk(root)

  const complete = [...groups.values()].filter((g) => g.files.paper && g.files.episode)
  const baseCounts = new Map<string, number>()
  for (const g of complete) baseCounts.set(g.base, (baseCounts.get(g.base) ?? 0) + 1)

  const pairs: PairFiles[] = []
  for (const group of groups.values()) {
    const papers = group.files.paper?.sort(byPreference(PAPER_PREFERENCE))
    const episodes = group.files.episode?.sort(byPreference(EPISODE_EXTENSIONS))
    const paper = papers?.[0]
    const episode = episodes?.[0]
    if (paper && episode) {
      const id = (baseCounts.get(group.base) ?? 0) > 1 && group.folder ? `${group.folder}/${group.base}` : group.base
      const sidecarFormat = SIDECAR_PREFERENCE.find((f) => group.files[f])
      const sidecarPath = sidecarFormat ? group.files[sidecarFormat]![0]!.path : null
      pairs.push({
        id,
        folder: group.folder,
        pdf: paper.path,
        mp3: episode.path,
        paper_format: paper.ext as PaperFormat,
        episode_format: episode.ext as EpisodeFormat,
        sidecar: sidecarPath ? {path: sidecarPath, format: sidecarFormat!} : null,
      })
      // x.pdf + x.docx, or x.pdf + x.PDF: only one of them can be the paper.
      for (const extra of papers.slice(1))
        orphans.push({path: extra.path, reason: `ignored: ${path.basename(paper.path)} is used as the paper`})
      for (const extra of episodes.slice(1))
        orphans.push({path: extra.path, reason: `ignored: ${path.basename(episode.path)} is used as the episode`})
      for (const format of SIDECAR_PREFERENCE) {
        for (const extra of group.files[format] ?? []) {
          if (extra.path !== sidecarPath)
            orphans.push({
              path: extra.path,
              reason: `ignored: ${path.basename(sidecarPath!)} is preferred as the transcript of this episode`,
            })
        }
      }
      continue
    }
    for (const file of papers ?? []) {
      orphans.push({path: file.path, reason: `paper without an episode: expected ${group.base}.mp3 next to it`})
    }
    for (const file of episodes ?? []) {
      orphans.push({path: file.path, reason: `episode without a paper: expected ${group.base}.pdf next to it`})
    }
    for (const format of SIDECAR_PREFERENCE) {
      for (const file of group.files[format] ?? []) {
        orphans.push({
          path: file.path,
          reason: `transcript without an episode: expected ${group.base}.mp3 and ${group.base}.pdf next to it`,
        })
      }
    }
  }

  if (pairs.length === 0 && orphans.length === 0) {
    throw new InputError(`No pairs found in ${root}: it holds no .pdf or .mp3 files (nor any other paper or episode: ${ALL_EXTENSIONS})`, {
      path: root,
      hint: 'Put each paper and its episode side by side with the same base name, e.g. my-paper.pdf and my-paper.mp3.',
    })
  }

  pairs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  orphans.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return {root, pairs, orphans}
}
