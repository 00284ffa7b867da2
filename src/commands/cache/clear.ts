import {StudioCommand} from '../../cli/base-command.js'
import {cacheDirFlag} from '../../cli/flags.js'
import {EXIT} from '../../core/errors.js'
import {defaultCacheDir, DiskCache, formatBytes, paperCacheDir, type CacheClearResult} from '../../providers/cache.js'

const LEFT_HINT = (dir: string) =>
  `Deleting a file needs write permission on its folder: check the owner and permissions of ${dir} and its sub-folders (e.g. chmod -R u+rwX "${dir}"), then run studio cache clear again.`

export default class CacheClear extends StudioCommand {
  static override summary = 'Delete every cached provider answer and paper text'
  static override description = `Removes every entry of the response cache, so that the next run asks the providers again (and pays for it), and of the paper cache (its papers/ folder), so that papers are extracted again. Only cache entries are deleted: other files in the folder are left alone. Runs already finished are not affected: their results are in their run folders. An entry that cannot be deleted does not stop the others: those left are listed with the reason, and the command exits with code 5.

The cache folder is --cache-dir, else $STUDIO_CACHE_DIR, else $XDG_CACHE_HOME/studio, else ~/.cache/studio (~/Library/Caches/studio on macOS). To bypass the cache for one run instead, run it with --no-cache.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --cache-dir /tmp/studio-cache --json',
  ]

  static override flags = {
    'cache-dir': cacheDirFlag,
  }

  public async run(): Promise<CacheClearResult & {dir: string; hint: string | null; papers: CacheClearResult & {dir: string}}> {
    const {flags} = await this.parse(CacheClear)
    const cache = new DiskCache(flags['cache-dir'] ?? defaultCacheDir())
    const paperCache = new DiskCache(paperCacheDir(cache.dir))
    const result = await cache.clear()
    const papers = await paperCache.clear()
    const left = [...result.left, ...papers.left]
    const hint = left.length ? LEFT_HINT(cache.dir) : null
    if (!this.jsonEnabled()) {
      const entries = (n: number) => `${n} entr${n === 1 ? 'y' : 'ies'}`
      this.log(
        result.removed === 0 && result.left.length === 0 && papers.removed === 0 && papers.left.length === 0
          ? `The cache in ${cache.dir} was already empty.`
          : `Removed ${entries(result.removed)} (${formatBytes(result.bytes)}) from ${cache.dir}.`,
      )
      if (papers.removed) this.log(`Removed ${papers.removed} paper text(s) (${formatBytes(papers.bytes)}) from ${paperCache.dir}.`)
      if (left.length) {
        this.logToStderr(`error: ${left.length} could not be removed and ${left.length === 1 ? 'is' : 'are'} still in the cache:`)
        for (const entry of left) this.logToStderr(`  ${entry.path}: ${entry.reason}`)
        this.logToStderr(`Hint: ${hint}`)
      }
    }
    // Partly done: what was deleted is gone, the rest is listed; a script must not take it for a clean cache.
    if (left.length) process.exitCode = EXIT.partial
    return {...result, dir: cache.dir, hint, papers: {...papers, dir: paperCache.dir}}
  }
}
