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
 * Values are escaped for text and for quoted attribute values. Inside a tag but outside
 * quotes escaping would not help, so a template with an unquoted attribute value
 * (`title=${x}`) is refused, and only a fragment may go between attributes
 * (`<details ${open && html`open`}>`).
 *
 * Prettier formats `html` templates as HTML (so write each as well-formed markup: it
 * closes a tag left open), breaking lines only where HTML renders any whitespace as one
 * space. The template's own whitespace that holds a line break is therefore written as
 * one space: the page renders the same and stays compact. (Literal text inside <pre>
 * would notice; the report's is interpolated.)
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

/** Where an interpolation lands: element content, between a tag's attributes, or inside a quoted attribute value. */
type Context = 'text' | 'tag' | 'value'

/** Each template's contexts, worked out once: a call site always passes the same TemplateStringsArray. */
const contexts = new WeakMap<TemplateStringsArray, Context[]>()

function contextsOf(strings: TemplateStringsArray): Context[] {
  const known = contexts.get(strings)
  if (known) return known
  let state: 'text' | 'tag' | '"' | "'" = 'text'
  const found: Context[] = []
  strings.forEach((text, i) => {
    for (const c of text) {
      if (state === 'text') state = c === '<' ? 'tag' : 'text'
      else if (state === 'tag') state = c === '>' ? 'text' : c === '"' || c === "'" ? c : 'tag'
      else if (c === state) state = 'tag'
    }
    if (i === strings.length - 1) return
    if (state === 'tag' && /=\s*$/.test(text)) throw new Error(`html: quote the attribute value after ${JSON.stringify(text.slice(-40))}`)
    found.push(state === 'text' || state === 'tag' ? state : 'value')
  })
  contexts.set(strings, found)
  return found
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  const context = contextsOf(strings)
  let out = ''
  strings.forEach((text, i) => {
    out += text.replace(/\s*\n\s*/g, ' ')
    if (i === values.length) return
    const value = values[i]
    if (context[i] === 'tag' && !(value instanceof Html || value === null || value === undefined || value === false)) {
      throw new Error(`html: only a fragment can go between attributes, after ${JSON.stringify(text.slice(-40))}`)
    }
    out += render(value)
  })
  return trust(out)
}

/** A `<style>` element for the page's own stylesheet, which must not be able to close it. */
export function styleElement(css: string): Html {
  if (/<\/style|<!--/i.test(css)) throw new Error('styleElement: the stylesheet contains "</style" or "<!--"')
  return trust(`<style>${css}</style>`)
}
