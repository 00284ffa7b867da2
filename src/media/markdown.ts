/**
 * Markdown to plain text, for papers given as .md: drops the syntax that would
 * otherwise count as words or split them (documented in TRAINING.md, "Paper inputs").
 */

const FENCE = /^ {0,3}(`{3,}|~{3,})/
const FRONT_MATTER = /^---[ \t]*\n[\s\S]*?\n(?:---|\.\.\.)[ \t]*(?:\n|$)/
const HTML_COMMENT = /<!--[\s\S]*?-->/g
/** Backslash escapes are swapped for private-use characters while the rest is stripped. */
const ESCAPE = /\\([\\`*_{}[\]()#+\-.!|>~<])/g
const ESCAPED = /[\uE000-\uE07F]/g

export function stripMarkdown(markdown: string): string {
  const text = markdown.replace(/\r\n?/g, '\n').replace(FRONT_MATTER, '').replace(HTML_COMMENT, '')
  const out: string[] = []
  let fence: string | null = null
  for (const line of text.split('\n')) {
    const marker = FENCE.exec(line)?.[1]
    if (fence !== null) {
      // Code is kept as text, verbatim; only the closing fence line goes.
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = null
      else out.push(line)
      continue
    }
    if (marker) {
      fence = marker
      continue
    }
    const stripped = stripLine(line)
    if (stripped !== null) out.push(stripped)
  }
  return out.join('\n')
}

/** One line outside code fences; null when the whole line is syntax (rules, link definitions). */
function stripLine(line: string): string | null {
  if (/^ {0,3}\[[^\]]+\]:\s*\S/.test(line)) return null // link reference definition
  if (/^ {0,3}([-*_=])(?:[ \t]*\1){2,}[ \t]*$/.test(line)) return null // thematic break, setext underline
  let text = line.replace(ESCAPE, (_m, c: string) => String.fromCharCode(0xe000 + c.charCodeAt(0)))
  text = text
    .replace(/^ {0,3}#{1,6}(?:[ \t]+|$)/, '')
    .replace(/[ \t]+#+[ \t]*$/, '')
    .replace(/^ {0,3}(?:>[ \t]?)+/, '')
    .replace(/^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?/, '')
  // Inline code spans keep their content as is; the rest of the line is stripped around them.
  const parts = text.split(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/)
  let result = ''
  for (let i = 0; i < parts.length; i += 3) {
    result += stripInline(parts[i] ?? '')
    if (i + 2 < parts.length) result += (parts[i + 2] ?? '').trim()
  }
  return result.replace(ESCAPED, (c) => String.fromCharCode(c.charCodeAt(0) - 0xe000))
}

const LINK_TARGET = String.raw`\((?:[^()\s]|\([^()\s]*\))*(?:\s+(?:"[^"]*"|'[^']*'))?\)`

function stripInline(text: string): string {
  return text
    .replace(new RegExp(String.raw`!\[[^\]]*\]${LINK_TARGET}`, 'g'), '') // images
    .replace(/!\[[^\]]*\]\[[^\]]*\]/g, '')
    .replace(new RegExp(String.raw`\[([^\]]*)\]${LINK_TARGET}`, 'g'), '$1') // [text](url) → text
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1') // [text][ref] → text
    .replace(/<((?:https?|ftp|mailto):[^>\s]+)>/gi, '$1') // autolinks keep their address
    .replace(/<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?\/?>/g, '') // inline HTML tags
    .replace(/(\*\*|__)(?=\S)(.*?\S)\1/g, '$2')
    .replace(/~~(?=\S)(.*?\S)~~/g, '$1')
    .replace(/\*(?=[^\s*])([^*]*?[^\s*])\*/g, '$1')
    .replace(/\*(?=[^\s*])([^*\s])\*/g, '$1')
    .replace(/(?<![\p{L}\p{N}_])_(?=[^\s_])([^_]*?[^\s_])?_(?![\p{L}\p{N}_])/gu, (_m, inner: string | undefined) => inner ?? '')
}
