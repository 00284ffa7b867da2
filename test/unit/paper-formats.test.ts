import {randomBytes} from 'node:crypto'
import {chmod, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {crc32} from 'node:zlib'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {InputError} from '../../src/core/errors.js'
import {stripMarkdown} from '../../src/media/markdown.js'
import {PAPER_EXTENSIONS, paperFormatOf, readPaper, splitReferences} from '../../src/media/paper.js'
import {
  cleanPdfPages,
  findPageFurniture,
  joinHyphenatedLines,
  normaliseLigatures,
  removePageFurniture,
  removePageNumberLines,
  removeSoftHyphens,
} from '../../src/media/pdf-cleanup.js'
import {makeTempDir, removeDir, writePdf} from '../helpers/media.js'
import {callUnprivileged, openToOthers} from '../helpers/unprivileged.js'

let dir = ''
beforeAll(async () => {
  dir = await makeTempDir('studio-paper-formats-')
})
afterAll(async () => {
  await removeDir(dir)
})

// ------------------------------------------------------------------ test inputs

/**
 * A minimal zip archive with stored (uncompressed) entries: enough for a .docx,
 * so the tests need neither a zip library nor a committed binary fixture.
 */
function zip(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, content] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name, 'utf8')
    const data = Buffer.from(content, 'utf8')
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4) // version needed
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBytes.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBytes.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, nameBytes, data)
    centrals.push(central, nameBytes)
    offset += local.length + nameBytes.length + data.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(centrals.length / 2, 8)
  end.writeUInt16LE(centrals.length / 2, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** A .docx with one paragraph per entry: the three parts mammoth needs to find and read the document. */
function docx(paragraphs: string[]): Buffer {
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main'
  const body = paragraphs.map((p) => `<w:p><w:r><w:t xml:space="preserve">${escapeXml(p)}</w:t></w:r></w:p>`).join('')
  return zip({
    '[Content_Types].xml':
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    '_rels/.rels':
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    'word/document.xml': `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`,
  })
}

/** A PDF with a drawn rectangle and no text at all: what a scan without OCR looks like to a text extractor. */
async function writeImageOnlyPdf(file: string): Promise<void> {
  type Doc = {
    on(event: string, cb: (arg: Buffer) => void): void
    rect(x: number, y: number, w: number, h: number): Doc
    fill(color: string): Doc
    addPage(): Doc
    end(): void
  }
  const moduleName = 'pdfkit'
  const {default: PDFDocument} = (await import(moduleName)) as {default: new (options?: object) => Doc}
  const doc = new PDFDocument({size: 'A4'})
  const chunks: Buffer[] = []
  const done = new Promise<void>((resolve) => doc.on('end', () => resolve()))
  doc.on('data', (chunk) => chunks.push(chunk))
  doc.rect(50, 50, 400, 600).fill('#777777')
  doc.addPage().rect(60, 60, 300, 300).fill('#333333')
  doc.end()
  await done
  await writeFile(file, Buffer.concat(chunks))
}

const file = (name: string) => path.join(dir, name)

async function expectInputError(promise: Promise<unknown>, pathName: string, message: RegExp, hint: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(InputError)
  const input = error as InputError
  expect(input.message).toContain(pathName)
  expect(input.message).toMatch(message)
  expect(input.path).toBe(pathName)
  expect(input.hint ?? '').toMatch(hint)
}

// ---------------------------------------------------------------- pure cleanup

describe('normaliseLigatures', () => {
  it('expands the seven Latin ligatures and leaves the rest of the text alone', () => {
    expect(normaliseLigatures('\uFB00 \uFB01 \uFB02 \uFB03 \uFB04 \uFB05 \uFB06')).toBe('ff fi fl ffi ffl st st')
    expect(normaliseLigatures('eﬀect of the ﬁnal ﬂow')).toBe('effect of the final flow')
    // NFKC on the whole text would turn these into "2", "1/2" and "fi": only ligatures are touched.
    expect(normaliseLigatures('x² ½ ﬁ')).toBe('x² ½ fi')
  })
})

describe('removeSoftHyphens', () => {
  it('drops soft hyphens, joining a word broken at a line end', () => {
    expect(removeSoftHyphens('hy\u00ADphen\u00ADation')).toBe('hyphenation')
    expect(removeSoftHyphens('exam\u00AD\nple text')).toBe('example text')
  })
})

describe('page furniture', () => {
  const page = (n: number, body: string) => `Journal of Things, Vol. 3 (2024)\nSmith et al.\n${body}\nMore of page ${n}.\nPage ${n} of 12`

  it('finds lines repeated at the top or bottom of at least half the pages, digits normalised', () => {
    const pages = [page(1, 'Alpha.'), page(2, 'Beta.'), page(3, 'Gamma.'), 'A page without furniture.\nJust text.']
    const furniture = findPageFurniture(pages)
    expect(furniture).toEqual(new Set(['Journal of Things, Vol. # (#)', 'Smith et al.', 'Page # of #', 'More of page #.']))
  })

  it('removes those lines everywhere, including mid-page, and keeps the rest', () => {
    const pages = [page(1, 'Alpha.'), page(2, 'Beta.\nSmith et al.\nDelta.'), page(3, 'Gamma.')]
    const cleaned = removePageFurniture(pages)
    expect(cleaned[1]).toBe('Beta.\nDelta.')
    expect(cleaned.join('\n')).not.toMatch(/Journal of Things|Smith et al|Page \d of/)
  })

  it('needs at least two pages, and at least half of them', () => {
    expect(findPageFurniture(['Header\nBody one.'])).toEqual(new Set())
    const pages = ['Header\nA.', 'Header\nB.', 'C.', 'D.', 'E.']
    expect(findPageFurniture(pages)).toEqual(new Set())
    expect(findPageFurniture([...pages.slice(0, 4)])).toEqual(new Set(['Header']))
  })

  it('ignores lines outside the top and bottom three', () => {
    const body = (x: string) => `l1 ${x}\nl2 ${x}\nl3 ${x}\nRepeated middle line\nl5 ${x}\nl6 ${x}\nl7 ${x}`
    expect(findPageFurniture([body('a'), body('b')])).toEqual(new Set())
  })
})

describe('removePageNumberLines', () => {
  it('drops lines that are only a page number', () => {
    expect(removePageNumberLines('Text.\n12\nPage 3\n4 of 10\n5/10\nIn 2024 we saw 12 cases.')).toBe('Text.\nIn 2024 we saw 12 cases.')
  })
})

describe('joinHyphenatedLines', () => {
  it('joins a word hyphenated at a line end when the next line starts in lowercase', () => {
    expect(joinHyphenatedLines('an exam-\nple of it')).toBe('an example of it')
    expect(joinHyphenatedLines('an exam- \n  ple')).toBe('an example')
  })

  it('keeps the hyphen before a capital, a digit, or after fewer than two letters', () => {
    expect(joinHyphenatedLines('Franco-\nPrussian')).toBe('Franco-\nPrussian')
    expect(joinHyphenatedLines('COVID-\n19')).toBe('COVID-\n19')
    expect(joinHyphenatedLines('an e-\nmail')).toBe('an e-\nmail')
    expect(joinHyphenatedLines('x2-\nfoo')).toBe('x2-\nfoo')
  })

  it('counts letters outside the Basic Multilingual Plane as one letter each, at the start of the text too', () => {
    expect(joinHyphenatedLines('𝒜𝒜-\nx')).toBe('𝒜𝒜x')
    expect(joinHyphenatedLines('1𝒜-\nx')).toBe('1𝒜-\nx')
    expect(joinHyphenatedLines('中文-\nabc')).toBe('中文abc')
    expect(joinHyphenatedLines('a-\nb')).toBe('a-\nb')
    expect(joinHyphenatedLines('-\nb')).toBe('-\nb')
  })
})

describe('cleanPdfPages', () => {
  it('applies every rule, joining words hyphenated across a page break', () => {
    const pages = [
      'Proc. of Things 2024\nThe ﬁrst page ends with a hyphen-\n1',
      'Proc. of Things 2024\nated word and soft\u00AD\nhyphens.\n2',
      'Proc. of Things 2024\nLast page.\n3',
    ]
    expect(cleanPdfPages(pages)).toBe('The first page ends with a hyphenated word and softhyphens.\nLast page.')
  })

  it('keeps two-column text in the order the PDF gives it', () => {
    const pages = ['Left column line one.\nRight column line one.\nLeft column line two.']
    expect(cleanPdfPages(pages)).toBe(pages[0])
  })
})

// -------------------------------------------------------------- references

describe('splitReferences', () => {
  it.each([
    'References',
    'REFERENCES',
    'References and Notes',
    'Literature Cited',
    'Bibliography',
    'Works Cited',
    '7 References',
    '7. References',
    'VII. REFERENCES',
    'References:',
  ])('recognises the heading "%s"', (heading) => {
    expect(splitReferences(`Body text.\n${heading}\n[1] A. Author. 2020.`)).toEqual({
      body: 'Body text.',
      references: '[1] A. Author. 2020.',
    })
  })

  it('does not split at a sentence that mentions references', () => {
    const text = 'We list the references below.\nSee references in the appendix.'
    expect(splitReferences(text)).toEqual({body: text, references: ''})
  })
})

// -------------------------------------------------------------- markdown

describe('stripMarkdown', () => {
  it('drops headings, emphasis, link targets and images, keeping the words', () => {
    const md = [
      '# A *Great* Title #',
      '',
      'Some **bold**, __strong__, _italic_ and ~~struck~~ text with a [link](https://example.org/a_(b) "t").',
      '![diagram](figs/x.png) See [the paper][ref] and <https://example.org>.',
      '> A quote with `inline *code*`.',
      '- item one',
      '2. item two',
      '',
      '---',
      '[ref]: https://example.org/ref',
      'snake_case_name stays, as does 2*3*4 and \\*escaped\\*.',
      '<sup>1</sup> <!-- hidden -->',
    ].join('\n')
    expect(stripMarkdown(md)).toBe(
      [
        'A Great Title',
        '',
        'Some bold, strong, italic and struck text with a link.',
        ' See the paper and https://example.org.',
        'A quote with inline *code*.',
        'item one',
        'item two',
        '',
        'snake_case_name stays, as does 234 and *escaped*.',
        '1 ',
      ].join('\n'),
    )
  })

  it('keeps code fences as text, dropping only the fence lines, and drops front matter', () => {
    const md = '---\ntitle: x\n---\nBefore.\n```python\n# not a heading\nx = **y**\n```\nAfter.'
    expect(stripMarkdown(md)).toBe('Before.\n# not a heading\nx = **y**\nAfter.')
  })
})

// -------------------------------------------------------------- readPaper

describe('PAPER_EXTENSIONS and paperFormatOf', () => {
  it('lists the accepted extensions and matches them case-insensitively', () => {
    expect(PAPER_EXTENSIONS).toEqual(['.pdf', '.docx', '.txt', '.md'])
    expect(paperFormatOf('/x/Paper.PDF')).toBe('pdf')
    expect(paperFormatOf('a.Docx')).toBe('docx')
    expect(paperFormatOf('a.TXT')).toBe('txt')
    expect(paperFormatOf('a.md')).toBe('md')
    expect(paperFormatOf('a.doc')).toBeNull()
    expect(paperFormatOf('README')).toBeNull()
  })
})

describe('readPaper', () => {
  it('reads a PDF, removing running headers, footers and page numbers', async () => {
    const topics = ['why attention is quadratic', 'how sparsity patterns are chosen', 'what the benchmarks show']
    const pages = topics.map(
      (topic, i) =>
        `Annals of Testing - Preprint\n${i === 0 ? 'Ada Lovelace, Alan Turing\n' : ''}This page explains ${topic}.\nPage ${i + 1} of 3`,
    )
    await writePdf(file('furniture.PDF'), {title: 'Sparse Attention for Everyone', pages})
    const paper = await readPaper(file('furniture.PDF'))
    expect(paper.format).toBe('pdf')
    expect(paper.pages).toBe(3)
    expect(paper.title).toBe('Sparse Attention for Everyone')
    expect(paper.body).not.toMatch(/Annals of Testing|Page \d of 3/)
    expect(paper.body).toContain('This page explains what the benchmarks show.')
  })

  it('reads a .docx, keeping references apart and estimating pages', async () => {
    const filler = Array.from({length: 120}, (_, i) => `Sentence ${i} about graph neural networks and message passing.`).join(' ')
    await writeFile(file('paper.docx'), docx(['Graph Networks at Scale', 'Abstract', filler, 'REFERENCES', '[1] Someone. A paper. 2019.']))
    const paper = await readPaper(file('paper.docx'))
    expect(paper.format).toBe('docx')
    expect(paper.title).toBe('Graph Networks at Scale')
    expect(paper.references).toBe('[1] Someone. A paper. 2019.')
    expect(paper.body).not.toContain('Someone')
    expect(paper.words).toBeGreaterThan(1000)
    expect(paper.pages).toBe(Math.ceil((paper.words + 5) / 500))
  })

  it('reads a UTF-8 .txt, stripping a BOM', async () => {
    const text = `Plain Text Paper\n\n${'word '.repeat(1200)}`
    await writeFile(file('plain.txt'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]))
    const paper = await readPaper(file('plain.txt'))
    expect(paper.format).toBe('txt')
    expect(paper.title).toBe('Plain Text Paper')
    expect(paper.body.startsWith('Plain')).toBe(true)
    expect(paper.words).toBe(1203)
    expect(paper.pages).toBe(3)
  })

  it('reads a .md without its markdown syntax', async () => {
    await writeFile(
      file('notes.md'),
      '# Diffusion Models, Explained\n\nWe study **denoising** with [score matching](https://x.org/s).\n\n![fig](f.png)\n\n## References\n\n1. Ho et al. 2020.\n',
    )
    const paper = await readPaper(file('notes.md'))
    expect(paper.format).toBe('md')
    expect(paper.title).toBe('Diffusion Models, Explained')
    expect(paper.body).toBe('Diffusion Models, Explained\n\nWe study denoising with score matching.')
    expect(paper.references).toBe('Ho et al. 2020.')
    expect(paper.pages).toBe(1)
  })
})

describe('readPaper errors name the file and say what to do', () => {
  it('rejects an unsupported extension', async () => {
    await writeFile(file('old.doc'), 'x')
    await expectInputError(readPaper(file('old.doc')), file('old.doc'), /unsupported format: \.doc/, /\.docx/)
  })

  it('rejects a missing file', async () => {
    await expectInputError(readPaper(file('missing.pdf')), file('missing.pdf'), /Cannot read paper .*ENOENT/, /exists/)
  })

  it.each(['empty.pdf', 'empty.docx', 'empty.txt', 'empty.md'])('rejects a zero-byte %s', async (name) => {
    await writeFile(file(name), '')
    await expectInputError(readPaper(file(name)), file(name), /is empty \(0 bytes\)/, /full text/)
  })

  it('rejects a PDF without a text layer and suggests OCR', async () => {
    await writeImageOnlyPdf(file('scan.pdf'))
    await expectInputError(readPaper(file('scan.pdf')), file('scan.pdf'), /no text layer \(2 page\(s\)/, /ocrmypdf/)
  })

  it('rejects a password-protected PDF', async () => {
    await writePdf(file('locked.pdf'), {pages: ['Secret research text.'], password: {user: 'user', owner: 'owner'}})
    await expectInputError(readPaper(file('locked.pdf')), file('locked.pdf'), /encrypted with a password/, /qpdf --decrypt/)
  })

  it('rejects random bytes and a truncated PDF as corrupt', async () => {
    await writeFile(file('random.pdf'), randomBytes(4096))
    await expectInputError(readPaper(file('random.pdf')), file('random.pdf'), /not a readable PDF/, /truncated/)
    await writePdf(file('whole.pdf'), ['Some text that will be cut off.'])
    const whole = await readFile(file('whole.pdf'))
    await writeFile(file('truncated.pdf'), whole.subarray(0, whole.length >> 1))
    await expectInputError(readPaper(file('truncated.pdf')), file('truncated.pdf'), /not a readable PDF/, /Re-export/)
  })

  it('rejects a file it may not read', async () => {
    await writePdf(file('private.pdf'), ['Private.'])
    await chmod(file('private.pdf'), 0o000)
    await openToOthers(dir)
    try {
      // Root would read it anyway: readPaper runs as nobody then (see helpers/unprivileged.ts).
      const {error} = await callUnprivileged('src/media/paper.ts', 'readPaper', [file('private.pdf')])
      expect(error).toMatchObject({name: 'InputError', path: file('private.pdf'), exitCode: 2})
      expect(error!.message).toContain(file('private.pdf'))
      expect(error!.message).toMatch(/EACCES/)
      expect(error!.hint).toMatch(/chmod/)
    } finally {
      await chmod(file('private.pdf'), 0o644)
    }
  })

  it('rejects a .docx that is not a zip', async () => {
    await writeFile(file('fake.docx'), 'This is plain text with a .docx name.')
    await expectInputError(readPaper(file('fake.docx')), file('fake.docx'), /not a readable \.docx file/, /save it again as \.docx/)
  })

  it('rejects a zip without a Word document in it', async () => {
    await writeFile(file('other.docx'), zip({'hello.txt': 'hi'}))
    await expectInputError(readPaper(file('other.docx')), file('other.docx'), /not a readable \.docx file/, /Word or LibreOffice/)
  })

  it('recognises an old .doc or a password-protected .docx', async () => {
    await writeFile(file('legacy.docx'), Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), randomBytes(512)]))
    await expectInputError(
      readPaper(file('legacy.docx')),
      file('legacy.docx'),
      /old Word \.doc file or a password-protected/,
      /save it as \.docx/,
    )
  })

  it('rejects a .docx with no text', async () => {
    await writeFile(file('blank.docx'), docx(['', '   ']))
    await expectInputError(readPaper(file('blank.docx')), file('blank.docx'), /contains no text/, /images/)
  })

  it('rejects a .txt with only white space, and a .md with only syntax', async () => {
    await writeFile(file('blank.txt'), ' \n\n\t\n')
    await expectInputError(readPaper(file('blank.txt')), file('blank.txt'), /contains no text/, /text of the paper/)
    await writeFile(file('blank.md'), '#\n\n---\n\n![only an image](x.png)\n')
    await expectInputError(readPaper(file('blank.md')), file('blank.md'), /contains no text/, /text of the paper/)
  })

  it('rejects a .txt that is not UTF-8', async () => {
    await writeFile(file('latin1.txt'), Buffer.from('Caf\xe9 society and na\xefve models.', 'latin1'))
    await expectInputError(readPaper(file('latin1.txt')), file('latin1.txt'), /is not UTF-8 text/, /UTF-8/)
  })

  it('rejects a paper that is only a bibliography', async () => {
    await writeFile(file('refs.txt'), 'References\n[1] A. Author. 2020.\n')
    await expectInputError(readPaper(file('refs.txt')), file('refs.txt'), /no text before its References heading/, /bibliography/)
  })
})
