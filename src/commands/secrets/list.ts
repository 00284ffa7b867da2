import {StudioCommand} from '../../cli/base-command.js'
import {renderTable} from '../../cli/table.js'
import {listSecrets, readSecretsFile, type SecretListing} from '../../providers/secrets.js'

export default class SecretsList extends StudioCommand {
  static override summary = 'Show which API keys studio would use, and where each comes from'
  static override description = `For each key (OPENAI, ANTHROPIC): its environment variable, where studio would take it from, and a masked form (first 3 and last 4 characters, e.g. sk-…a1b2). Never prints a whole key.

Source "env" means the environment variable (OPENAI_API_KEY, ANTHROPIC_API_KEY) is set: it always wins. "file" means the key stored by \`studio secrets set\` in <config dir>/secrets.json (mode 0600) is used. "none" means the key is set nowhere: real (non --mock) runs that need it stop with an error telling how to set it.

The config dir is $STUDIO_CONFIG_DIR, else $XDG_CONFIG_HOME/studio, else ~/.config/studio (~/Library/Application Support/studio on macOS).`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq -r \'.[] | select(.source == "none") | .env_var\'',
  ]

  public async run(): Promise<SecretListing[]> {
    await this.parse(SecretsList)
    const {file, warnings} = await readSecretsFile()
    for (const warning of warnings) process.stderr.write(`Warning: ${warning}\n`)
    const secrets = await listSecrets()
    if (!this.jsonEnabled()) {
      this.log(
        renderTable(
          ['name', 'env var', 'source', 'key'],
          secrets.map((s) => [s.name, s.env_var, s.source, s.masked ?? '-']),
        ),
      )
      this.log('')
      this.log(`Stored keys: ${file}. An environment variable, when set, takes precedence over the stored key.`)
    }
    return secrets
  }
}
