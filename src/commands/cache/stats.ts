import {StudioCommand} from '../../cli/base-command.js'
import {cacheDirFlag} from '../../cli/flags.js'
import {type CacheStats, defaultCacheDir, DiskCache, formatBytes} from '../../providers/cache.js'

export default class CacheStatsCommand extends StudioCommand {
  static override summary = 'Show how many provider answers are cached, and how much space they take'
  static override description = `studio caches every successful provider answer (transcripts, model answers) on disk, keyed by a hash of the whole request (provider, model, parameters, input file hashes), so that a repeated or resumed run does not pay twice for the same request. Errors and empty answers are never cached; --no-cache on a run neither reads nor writes it.

The cache folder is --cache-dir, else $STUDIO_CACHE_DIR, else $XDG_CACHE_HOME/studio, else ~/.cache/studio (~/Library/Caches/studio on macOS). It is safe to delete at any time: see \`studio cache clear\`.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --cache-dir /tmp/studio-cache --json',
  ]

  static override flags = {
    'cache-dir': cacheDirFlag,
  }

  public async run(): Promise<CacheStats> {
    const {flags} = await this.parse(CacheStatsCommand)
    const stats = await new DiskCache(flags['cache-dir'] ?? defaultCacheDir()).stats()
    if (!this.jsonEnabled()) {
      this.log(`Cache:    ${stats.dir}`)
      this.log(`Entries:  ${stats.entries}`)
      this.log(`Size:     ${formatBytes(stats.bytes)}`)
    }
    return stats
  }
}
