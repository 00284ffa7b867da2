import {describe, expect, it} from 'vitest'

import {escapeHtml, html, Html, styleElement, type Interpolation} from '../../src/training/report/template.js'

const EVIL = `<script>alert("x" + 'y')</script> & more`
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;)&lt;/script&gt; &amp; more'

describe('html`...`', () => {
  it('escapes an interpolated string in text', () => {
    expect(String(html`<p>${EVIL}</p>`)).toBe(`<p>${ESCAPED}</p>`)
  })

  it('escapes an interpolated string in a quoted attribute, so it cannot leave the quotes', () => {
    expect(String(html`<a title="${'" onclick="alert(1)'}">x</a>`)).toBe('<a title="&quot; onclick=&quot;alert(1)">x</a>')
  })

  it('refuses an unquoted attribute value, which escaping cannot make safe', () => {
    expect(() => html`<a title=${'x onclick=alert(1)'}>x</a>`).toThrow(/quote the attribute value/)
    expect(() => html`<a href="${'a'}" title=${'b'}>x</a>`).toThrow(/quote the attribute value/)
    // An equals sign in text is no attribute.
    expect(String(html`<p>a = ${1}</p>`)).toBe('<p>a = 1</p>')
  })

  it('lets only a fragment go between attributes, where a string could add one', () => {
    const open = true
    expect(String(html`<details class="x" ${open && html`open`}></details>`)).toBe('<details class="x" open></details>')
    expect(String(html`<details ${null}></details>`)).toBe('<details ></details>')
    expect(() => html`<details ${'onclick="alert(1)"'}></details>`).toThrow(/only a fragment can go between attributes/)
    // A ">" inside a quoted value does not end the tag.
    expect(() => html`<a title="1 > 0" ${'onclick=alert(1)'}>x</a>`).toThrow(/between attributes/)
    expect(String(html`<a title="1 > 0 ${'&'}">x</a>`)).toBe('<a title="1 > 0 &amp;">x</a>')
  })

  it('prints numbers as they are', () => {
    expect(String(html`<circle r="${2.5}" data-trial="${0}" />${-3}`)).toBe('<circle r="2.5" data-trial="0" />-3')
  })

  it('prints nothing for null, undefined and false, so conditions read naturally', () => {
    const missing: string | null = null
    expect(String(html`<p>${missing}${undefined}${false}${missing !== null && html`<b>no</b>`}</p>`)).toBe('<p></p>')
  })

  it('passes nested fragments through without escaping them again', () => {
    const inner = html`<b>${EVIL}</b>`
    expect(String(html`<p>${inner}</p>`)).toBe(`<p><b>${ESCAPED}</b></p>`)
  })

  it('joins arrays, escaping their strings and keeping their fragments', () => {
    const items: Interpolation[] = [html`<li>${'a<b'}</li>`, 'c&d', 7, null, [html`<li>e</li>`, '"f"']]
    expect(String(html`<span>${items}</span>`)).toBe('<span><li>a&lt;b</li>c&amp;d7<li>e</li>&quot;f&quot;</span>')
  })

  it('treats an object that only looks like a fragment as an error, not as markup', () => {
    const forged = {toString: () => '<script>'} as unknown as Html
    expect(forged instanceof Html).toBe(false)
    expect(() => html`<p>${forged}</p>`).toThrow(TypeError)
    expect(() => html`<p>${true as unknown as string}</p>`).toThrow(TypeError)
  })
})

describe('html`...` layout', () => {
  it('writes whitespace holding a line break as one space, as a browser renders it, and leaves values alone', () => {
    const list = ['a', 'b'].map((item) => html`<li>${item}</li>`)
    const page = html`<ul>
      ${list}
    </ul>`
    expect(String(page)).toBe('<ul> <li>a</li><li>b</li> </ul>')
    expect(String(html`<pre>${'one\n  two'}</pre>`)).toBe('<pre>one\n  two</pre>')
  })
})

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and attributes', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;')
    expect(escapeHtml('plain text, 0.25 · ✓')).toBe('plain text, 0.25 · ✓')
  })
})

describe('styleElement', () => {
  it('wraps the page stylesheet as it is', () => {
    expect(String(styleElement('a>b{content:"\'"}'))).toBe('<style>a>b{content:"\'"}</style>')
  })

  it('refuses a stylesheet that would end the style element', () => {
    expect(() => styleElement('a{}</style><script>')).toThrow(/<\/style/)
    expect(() => styleElement('a{}</STYLE >')).toThrow()
  })
})
