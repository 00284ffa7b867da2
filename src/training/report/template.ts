/**
 * HTML that is escaped unless it says otherwise. The report is built from run files,
 * which hold text from outside (pair ids, file names, judge reasons, prompts written by
 * an LLM): a value put into the page must never be able to add markup. With `html`
 * every interpolated string is escaped, and the only values that pass through as markup
 * are fragments that `html` itself made. Forgetting to escape is then impossible, and
 * escaping twice is too.
 *
 *   html`<li title="${title}">${name}</li>`         strings and numbers are escaped
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`    fragments and arrays of them are not
 *   html`${cond && html`<b>yes</b>`}`                false, null and undefined print nothing
 *
 * Values are escaped for text and for quoted attribute values; an unquoted attribute
 * value (`title=${x}`) is refused, since escaping alone does not make it safe. The
 * template's own text is kept as written, whitespace included: it means what it means
 * in HTML, which is what Prettier assumes when it lays out `html` templates.
 */

const ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
}

let trust: (markup: string) => Html

/** Markup that is safe to put in a page as it is. Only this module makes one. */
export class Html {
  readonly #markup: string

  private constructor(markup: string) {
    this.#markup = markup
  }

  static {
    trust = (markup) => new Html(markup)
  }

  toString(): string {
    return this.#markup
  }
}

export type Interpolation = Html | string | number | false | null | undefined | readonly Interpolation[]

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof Html) return value.toString()
  if (typeof value === 'string') return escapeHtml(value)
  if (typeof value === 'number') return escapeHtml(String(value))
  if (Array.isArray(value)) return (value as readonly Interpolation[]).map(render).join('')
  // Reachable from untyped callers only: `true` or an object would print as nonsense.
  throw new TypeError(`html: cannot interpolate ${typeof value} ${String(value)}`)
}

/** Templates already checked for unquoted attribute values (one TemplateStringsArray per call site). */
const checked = new WeakSet<TemplateStringsArray>()

function refuseUnquotedAttributes(strings: TemplateStringsArray): void {
  if (checked.has(strings)) return
  let inTag = false
  strings.forEach((text, i) => {
    for (const c of text) if (c === '<' || c === '>') inTag = c === '<'
    if (inTag && i < strings.length - 1 && /=\s*$/.test(text)) {
      throw new Error(`html: quote the attribute value after ${JSON.stringify(text.slice(-40))}`)
    }
  })
  checked.add(strings)
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  refuseUnquotedAttributes(strings)
  let out = ''
  strings.forEach((text, i) => {
    out += text
    if (i < values.length) out += render(values[i])
  })
  return trust(out)
}

/** A `<style>` element for the page's own stylesheet, which must not be able to close it. */
export function styleElement(css: string): Html {
  if (/<\/style|<!--/i.test(css)) throw new Error('styleElement: the stylesheet contains "</style" or "<!--"')
  return trust(`<style>${css}</style>`)
}
