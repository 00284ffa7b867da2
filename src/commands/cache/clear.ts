import {StudioCommand} from '../../cli/base-command.js'
import {cacheDirFlag} from '../../cli/flags.js'
import {defaultCacheDir, DiskCache, formatBytes} from '../../providers/cache.js'

export default class CacheClear extends StudioCommand {
  static override summary = 'Delete every cached provider answer'
  static override description = `Removes every entry of the response cache, so that the next run asks the providers again (and pays for it). Only cache entries are deleted: other files in the folder are left alone. Runs already finished are not affected: their results are in their run folders.

The cache folder is --cache-dir, else $STUDIO_CACHE_DIR, else $XDG_CACHE_HOME/studio, else ~/.cache/studio (~/Library/Caches/studio on macOS). To bypass the cache for one run instead, run it with --no-cache.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --cache-dir /tmp/studio-cache --json',
  ]

  static override flags = {
    'cache-dir': cacheDirFlag,
  }

  public async run(): Promise<{removed: number; bytes: number; dir: string}> {
    const {flags} = await this.parse(CacheClear)
    const cache = new DiskCache(flags['cache-dir'] ?? defaultCacheDir())
    const result = await cache.clear()
    if (!this.jsonEnabled()) {
      this.log(
        result.removed === 0
          ? `The cache in ${cache.dir} was already empty.`
          : `Removed ${result.removed} entr${result.removed === 1 ? 'y' : 'ies'} (${formatBytes(result.bytes)}) from ${cache.dir}.`,
      )
    }
    return {...result, dir: cache.dir}
  }
}
