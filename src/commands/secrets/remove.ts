import {Args} from '@oclif/core'

import {StudioCommand} from '../../cli/base-command.js'
import {envVarOf, parseSecretName, removeSecret, type SecretName, SECRET_NAMES, secretsFilePath} from '../../providers/secrets.js'

export default class SecretsRemove extends StudioCommand {
  static override summary = 'Delete a stored API key from secrets.json'
  static override description = `Removes the key stored by \`studio secrets set\` from <config dir>/secrets.json (the file itself goes when no key is left in it). Exits 0 whether or not the key was stored, and says which.

It does not touch environment variables: if OPENAI_API_KEY or ANTHROPIC_API_KEY is set, studio keeps using it (unset it in your shell).

The config dir is $STUDIO_CONFIG_DIR, else $XDG_CONFIG_HOME/studio, else ~/.config/studio (~/Library/Application Support/studio on macOS).`

  static override examples = ['<%= config.bin %> <%= command.id %> OPENAI', '<%= config.bin %> <%= command.id %> anthropic --json']

  static override args = {
    name: Args.string({description: `Which key: ${SECRET_NAMES.join(' or ')} (any case)`, required: true, ignoreStdin: true}),
  }

  public async run(): Promise<{name: SecretName; file: string; removed: boolean}> {
    const {args} = await this.parse(SecretsRemove)
    const name = parseSecretName(args.name)
    const removed = await removeSecret(name)
    const file = secretsFilePath()
    if (!this.jsonEnabled()) {
      this.log(removed ? `Removed ${name} from ${file}.` : `${name} was not stored in ${file}: nothing to remove.`)
      const envVar = envVarOf(name)
      if (process.env[envVar]?.trim()) this.log(`Note: ${envVar} is still set in this environment, and studio uses it.`)
    }
    return {name, file, removed}
  }
}
