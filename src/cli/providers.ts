/**
 * The providers a command runs with: the mock under --mock, else the real SDK
 * clients from the configuration, with the response cache, and every key checked
 * before any work starts. A resumed run uses the providers recorded in its run.json.
 * The configuration's size limits apply in both modes.
 */
import {runPaths} from '../core/layout.js'
import type {Providers} from '../core/providers.js'
import type {MockWriter, RefinerMode} from '../core/schemas/common.js'
import type {RunConfig} from '../core/schemas/files.js'
import type {ResolvedConfig} from '../providers/config.js'
import type {SizeLimits} from '../media/limits.js'
import type {PaperTextCache} from '../media/paper-cache.js'

export interface ProviderChoice {
  mock: boolean
  /** --mock-writer; default: drawn from each call's seed (the run's --seed). */
  mockWriter?: MockWriter
  /** --resume: the run folder, whose run.json decides mock or real and the models. */
  resumeDir?: string
  configFile?: string
  models?: string[]
  cache: boolean
  cacheDir?: string
  tts: boolean
  refiner?: RefinerMode
  /** To tell whether any pair needs transcription (sidecars do not). */
  pairsDir?: string
  /** studio generate: concepts and generate only. */
  generateOnly?: boolean
  /** --dry-run: no call is made, so no key is needed. */
  requireKeys?: boolean
}

export interface BuiltProviders {
  providers: Providers
  roles: RunConfig['providers']
  /** The configuration real providers were built from; null under --mock. */
  config: ResolvedConfig | null
  /** Size guards from the config file, in every mode. */
  limits: SizeLimits
  /** Papers' extracted texts, in mock mode too (reading a paper is the same in both); null under --no-cache. */
  paperCache: PaperTextCache | null
}

/** The paper cache in the cache folder (--cache-dir, else the default), or null under --no-cache. */
export async function openPaperCache(choice: {cache: boolean; cacheDir?: string | undefined}): Promise<PaperTextCache | null> {
  if (!choice.cache) return null
  const {DiskCache, defaultCacheDir, paperCacheDir} = await import('../providers/cache.js')
  return new DiskCache(paperCacheDir(choice.cacheDir ?? defaultCacheDir()))
}

export async function buildProviders(choice: ProviderChoice): Promise<BuiltProviders> {
  let {mock, mockWriter, models, tts, refiner, pairsDir} = choice
  let recorded: RunConfig['providers'] = null
  if (choice.resumeDir) {
    const [{RunManifest}, {readJsonIfExists}] = await Promise.all([import('../core/schemas/files.js'), import('../core/store.js')])
    const manifest = await readJsonIfExists(runPaths(choice.resumeDir).manifest, RunManifest)
    if (manifest) {
      mock = manifest.config.mock
      // The writer the run started with: a run from before writers were recorded had its seed's.
      mockWriter = manifest.config.mock_writer ?? undefined
      tts = manifest.config.tts
      refiner = manifest.config.refiner
      pairsDir = manifest.config.pairs_dir
      // The models (and servers) the run started with, whatever the config file says today.
      recorded = manifest.config.providers
      models = undefined
    }
  }
  const {loadConfig} = await import('../providers/config.js')
  const paperCache = await openPaperCache(choice)
  if (mock) {
    // The mock has no models to configure, but the file's size limits guard a mock run as
    // they do a real one (a 71 MB paper costs memory offline too).
    const [{limits}, {mockProviders}] = await Promise.all([loadConfig({explicit: choice.configFile}), import('../providers/mock/index.js')])
    return {providers: mockProviders({tts, writer: mockWriter}), roles: null, config: null, limits, paperCache}
  }
  const [{createRealProviders, rolesInUse}, {DiskCache, NoCache, defaultCacheDir}] = await Promise.all([
    import('../providers/factory.js'),
    import('../providers/cache.js'),
  ])
  const config = await loadConfig({explicit: choice.configFile, overrides: models})
  if (recorded) Object.assign(config.roles, recorded)
  const transcribe = pairsDir ? await needsTranscription(pairsDir) : true
  const roles = rolesInUse({tts, transcribe, refiner, generateOnly: choice.generateOnly})
  const cache = choice.cache ? new DiskCache(choice.cacheDir ?? defaultCacheDir()) : new NoCache()
  const providers = await createRealProviders({config, cache, tts, transcribe, roles, requireKeys: choice.requireKeys ?? true})
  return {providers, roles: Object.fromEntries(roles.map((role) => [role, config.roles[role]])), config, limits: config.limits, paperCache}
}

/** Whether some pair has no sidecar transcript (then an OpenAI key is needed for Whisper). */
async function needsTranscription(pairsDir: string): Promise<boolean> {
  const {discoverPairs} = await import('../training/stages/discover.js')
  try {
    return (await discoverPairs(pairsDir)).pairs.some((p) => p.sidecar === null)
  } catch {
    // The trainer reports a bad pairs folder with its own clear error.
    return true
  }
}
