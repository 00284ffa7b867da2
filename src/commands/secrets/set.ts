import {Args} from '@oclif/core'

import {StudioCommand} from '../../cli/base-command.js'
import {envVarOf, parseSecretName, type SecretName, SECRET_NAMES, setSecret} from '../../providers/secrets.js'
import {InputError, InterruptedError} from '../../core/errors.js'

export default class SecretsSet extends StudioCommand {
  static override summary = 'Store an API key (OPENAI or ANTHROPIC) for studio to use'
  static override description = `Reads the key from stdin when stdin is a pipe, else asks for it at a prompt that does not echo what you type, and stores it in <config dir>/secrets.json with mode 0600 (in a folder with mode 0700).

The config dir is $STUDIO_CONFIG_DIR, else $XDG_CONFIG_HOME/studio, else ~/.config/studio (~/Library/Application Support/studio on macOS).

Precedence: the environment variable (OPENAI_API_KEY, ANTHROPIC_API_KEY), when set, always wins over the stored key, so a CI job or a shell can override it without touching the file.

The key is never taken as an argument (it would stay in your shell history) and is never printed: only a masked form such as sk-…a1b2.`

  static override examples = [
    {
      description: 'Pipe the key in (nothing lands in the shell history)',
      command: 'printf %s "$OPENAI_API_KEY" | <%= config.bin %> <%= command.id %> OPENAI',
    },
    {description: 'From a password manager', command: 'pass show api/anthropic | <%= config.bin %> <%= command.id %> anthropic'},
    {description: 'Type or paste it at a hidden prompt', command: '<%= config.bin %> <%= command.id %> OPENAI'},
  ]

  static override args = {
    name: Args.string({description: `Which key: ${SECRET_NAMES.join(' or ')} (any case)`, required: true, ignoreStdin: true}),
  }

  // Not strict, so that a key given as an extra argument is refused without being echoed in oclif's error.
  static override strict = false

  public async run(): Promise<{name: SecretName; file: string; masked: string}> {
    const {args, argv} = await this.parse(SecretsSet).catch((error: unknown) => {
      // oclif quotes an unknown flag in full, and `--key=sk-...` would put the key in the terminal and logs.
      if (error instanceof Error && /nonexistent flag/i.test(error.message)) {
        throw new InputError(
          'studio secrets set takes no flags but --json: the key comes from stdin or from the prompt (the flag given is not repeated here, in case it holds a key)',
          {
            hint: 'printf %s "$KEY" | studio secrets set OPENAI',
          },
        )
      }
      throw error
    })
    const name = parseSecretName(args.name)
    if (argv.length > 1) {
      throw new InputError(
        'studio secrets set takes only the name: the key comes from stdin or from the prompt, never from an argument (it would stay in your shell history)',
        {
          hint: `printf %s "$KEY" | studio secrets set ${name}   (or run it in a terminal and paste the key at the prompt; consider rotating a key that was typed on a command line)`,
        },
      )
    }
    const value = process.stdin.isTTY ? await promptHidden(`${name} API key (input hidden): `) : await readAllStdin()
    const {file, masked} = await setSecret(name, value)
    if (!this.jsonEnabled()) {
      const envVar = envVarOf(name)
      this.log(`Stored ${name} in ${file} (mode 0600). The environment variable ${envVar}, when set, takes precedence.`)
      if (process.env[envVar]?.trim())
        this.log(`Note: ${envVar} is set in this environment, so that value is used here instead of the stored one.`)
    }
    return {name, file, masked}
  }
}

/** All of stdin (a pipe or a file). Says once on stderr what it is waiting for if nothing comes. */
async function readAllStdin(): Promise<string> {
  const notice = setTimeout(
    () => process.stderr.write('Waiting for the key on stdin (pipe it in, or run in a terminal to be prompted)...\n'),
    3000,
  )
  try {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
    return Buffer.concat(chunks).toString('utf8')
  } finally {
    clearTimeout(notice)
  }
}

/**
 * Reads one line from the terminal with echo off (raw mode): Enter ends it,
 * Backspace deletes, Ctrl-U clears, Ctrl-C stops, escape sequences (arrow keys) are ignored.
 */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(prompt)
  return new Promise((resolve, reject) => {
    let value = ''
    const wasRaw = stdin.isRaw
    const finish = (error?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(wasRaw)
      stdin.pause()
      process.stderr.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: Buffer | string) => {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8')
      for (let i = 0; i < text.length; i++) {
        const ch = text[i]!
        if (ch === '\r' || ch === '\n') return finish()
        if (ch === '\u0003') return finish(new InterruptedError('Stopped: no key was stored.'))
        if (ch === '\u0004') {
          if (value === '') return finish()
          continue
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1)
        else if (ch === '\u0015') value = ''
        else if (ch === '\u001b') {
          // CSI sequence (ESC [ ... final byte in @-~), e.g. arrows or bracketed-paste markers.
          if (text[i + 1] === '[') {
            i += 2
            while (i < text.length && !/[@-~]/.test(text[i]!)) i++
          } else i++
        } else value += ch
      }
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}
