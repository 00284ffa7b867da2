import {StudioCommand} from '../../cli/base-command.js'
import {cacheDirFlag} from '../../cli/flags.js'
import {type CacheStats, defaultCacheDir, DiskCache, formatBytes, paperCacheDir} from '../../providers/cache.js'

export default class CacheStatsCommand extends StudioCommand {
  static override summary = 'Show how many provider answers and paper texts are cached, and how much space they take'
  static override description = `studio caches every successful provider answer (transcripts, model answers) on disk, keyed by a hash of the whole request (provider, model, parameters, input file hashes), so that a repeated or resumed run does not pay twice for the same request. Errors and empty answers are never cached; --no-cache on a run neither reads nor writes it.

Papers' extracted texts are cached too, in its papers/ folder, keyed by a hash of the file's bytes and of the extractor's version, so that a paper is read once by list-pairs, training run and generate together; they are counted apart (\`papers\` in --json).

The cache folder is --cache-dir, else $STUDIO_CACHE_DIR, else $XDG_CACHE_HOME/studio, else ~/.cache/studio (~/Library/Caches/studio on macOS). It is safe to delete at any time: see \`studio cache clear\`.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --cache-dir /tmp/studio-cache --json',
  ]

  static override flags = {
    'cache-dir': cacheDirFlag,
  }

  public async run(): Promise<CacheStats & {papers: CacheStats}> {
    const {flags} = await this.parse(CacheStatsCommand)
    const dir = flags['cache-dir'] ?? defaultCacheDir()
    const [stats, papers] = await Promise.all([new DiskCache(dir).stats(), new DiskCache(paperCacheDir(dir)).stats()])
    if (!this.jsonEnabled()) {
      this.log(`Cache:    ${stats.dir}`)
      this.log(`Entries:  ${stats.entries}`)
      this.log(`Size:     ${formatBytes(stats.bytes)}`)
      this.log(`Papers:   ${papers.entries} (${formatBytes(papers.bytes)}) in ${papers.dir}`)
    }
    return {...stats, papers}
  }
}
