import {StudioCommand} from '../../cli/base-command.js'
import {cacheDirFlag, cacheFlag, configFlag, pairsDirFlag} from '../../cli/flags.js'
import {createCountProgress} from '../../cli/progress.js'
import {openPaperCache} from '../../cli/providers.js'
import {renderTable} from '../../cli/table.js'
import {formatDuration} from '../../core/format.js'
import {listPairs} from '../../training/stages/list-pairs.js'
import type {PairsListing} from '../../core/schemas/inputs.js'

export default class ListPairs extends StudioCommand {
  static override summary = 'List the paper + episode pairs studio would train on'
  static override description = `A pair is a paper (x.pdf) and a podcast episode about it (x.mp3) with the same base name in the same folder; folders are searched recursively and extensions match in any case. A transcript next to the episode (x.vtt, x.srt or x.transcript.json) is used instead of transcribing it.

For each pair the table shows the paper's pages and words, the episode's duration (measured from the MP3), where the transcript will come from, and any problem found, a paper or episode over the size limits (\`limits\` in studio.config.json) included. Files without a partner are listed as orphans.

Each paper's text is kept in the paper cache (in the cache folder, see \`studio cache stats\`) under the hash of its bytes, so a paper listed once is not read again by the next listing, \`training run\` or \`generate\`; --no-cache neither reads nor writes it. A listing that takes more than a second shows its progress on stderr.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --pairs-dir ~/podcasts/pairs',
    '<%= config.bin %> <%= command.id %> --json | jq ".pairs[].id"',
  ]

  static override flags = {
    'pairs-dir': pairsDirFlag,
    config: configFlag,
    cache: cacheFlag,
    'cache-dir': cacheDirFlag,
  }

  public async run(): Promise<PairsListing> {
    const {flags} = await this.parse(ListPairs)
    // The size limits a run would apply: a pair past them is listed with that problem.
    const {loadConfig} = await import('../../providers/config.js')
    const {limits} = await loadConfig({explicit: flags.config})
    const cache = await openPaperCache({cache: flags.cache, cacheDir: flags['cache-dir']})
    const progress = createCountProgress({json: this.jsonEnabled(), message: (done, total) => `Reading pairs: ${done}/${total}`})
    let listing: PairsListing
    try {
      listing = await listPairs(flags['pairs-dir'], {limits, cache, onProgress: (done, total) => progress.update(done, total)})
    } finally {
      progress.stop()
    }
    if (!this.jsonEnabled()) this.render(listing)
    return listing
  }

  private render(listing: PairsListing): void {
    this.log(`Pairs in ${listing.root}`)
    this.log('')
    if (listing.pairs.length) {
      const rows = listing.pairs.map((p) => [
        p.id,
        p.pages === null ? '-' : String(p.pages),
        p.words === null ? '-' : String(p.words),
        formatDuration(p.duration_seconds),
        p.transcript_source,
        p.problems.length ? `${p.problems.length} problem(s)` : 'ok',
      ])
      this.log(renderTable(['id', 'pages', 'words', 'duration', 'transcript', 'status'], rows, [false, true, true, true, false, false]))
    } else {
      this.log('No complete pair found.')
    }
    for (const pair of listing.pairs) {
      for (const [i, problem] of pair.problems.entries()) {
        this.logToStderr(`problem: ${pair.id}: ${problem}`)
        const hint = pair.problem_hints[i]
        if (hint) this.logToStderr(`  hint: ${hint}`)
      }
    }
    if (listing.orphans.length) {
      this.log('')
      this.logToStderr(`warning: ${listing.orphans.length} file(s) have no partner and will be ignored:`)
      for (const orphan of listing.orphans) this.logToStderr(`  ${orphan.path}: ${orphan.reason}`)
    }
    this.log('')
    this.log(`${listing.pairs.length} pair(s), ${listing.orphans.length} orphan(s)`)
  }
}
