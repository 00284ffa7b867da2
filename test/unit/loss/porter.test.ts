import {describe, it, expect} from 'vitest'
import {porterStem, rougeScores, LossArgumentError} from '../../../src/loss/index.js'

// Outputs of NLTK 3.8 `PorterStemmer().stem(word)` (default mode NLTK_EXTENSIONS).
const NLTK_STEMS: Record<string, string> = {
  abilities: 'abil',
  abruptly: 'abruptli',
  accompanied: 'accompani',
  accordingly: 'accordingli',
  achievement: 'achiev',
  adjustable: 'adjust',
  agreement: 'agreement',
  allowance: 'allow',
  analogousli: 'analog',
  archaeology: 'archaeolog',
  bowdlerize: 'bowdler',
  callousness: 'callous',
  ceasing: 'ceas',
  communism: 'commun',
  conditionally: 'condit',
  controlling: 'control',
  decisiveness: 'decis',
  defensible: 'defens',
  dependent: 'depend',
  differentli: 'differ',
  digitizer: 'digit',
  effective: 'effect',
  electrical: 'electr',
  emptied: 'empti',
  feudalism: 'feudal',
  formaliti: 'formal',
  formalize: 'formal',
  formative: 'form',
  generalization: 'gener',
  gyroscopic: 'gyroscop',
  hesitanci: 'hesit',
  homologous: 'homolog',
  hopefulness: 'hope',
  irritant: 'irrit',
  knitting: 'knit',
  maximally: 'maxim',
  meetings: 'meet',
  motoring: 'motor',
  operator: 'oper',
  plastered: 'plaster',
  predication: 'predic',
  radicalli: 'radic',
  replacement: 'replac',
  revival: 'reviv',
  sensibiliti: 'sensibl',
  sensitiviti: 'sensit',
  spied: 'spi',
  spies: 'spi',
  succeeding: 'succeed',
  triplicate: 'triplic',
  tying: 'tie',
  vietnamization: 'vietnam',
  vileli: 'vile',
  wholly: 'wholli',
  yearly: 'yearli',
}

describe('porterStem (NLTK PorterStemmer, NLTK_EXTENSIONS)', () => {
  it('reproduces the NLTK howto example', () => {
    const plurals = [
      'caresses',
      'flies',
      'dies',
      'mules',
      'denied',
      'died',
      'agreed',
      'owned',
      'humbled',
      'sized',
      'meeting',
      'stating',
      'siezing',
      'itemization',
      'sensational',
      'traditional',
      'reference',
      'colonizer',
      'plotted',
    ]
    expect(plurals.map(porterStem).join(' ')).toBe(
      'caress fli die mule deni die agre own humbl size meet state siez item sensat tradit refer colon plot',
    )
  })

  it('matches NLTK on a vocabulary covering every step', () => {
    for (const [word, stem] of Object.entries(NLTK_STEMS)) expect([word, porterStem(word)]).toEqual([word, stem])
  })

  it('handles the worked examples', () => {
    const expected: Record<string, string> = {
      caresses: 'caress',
      ponies: 'poni',
      generously: 'gener',
      running: 'run',
      agreed: 'agre',
      happiness: 'happi',
      relational: 'relat',
      conditional: 'condit',
      rational: 'ration',
      hopeful: 'hope',
      goodness: 'good',
      electriciti: 'electr',
      happy: 'happi',
      enjoy: 'enjoy',
      fly: 'fli',
      geology: 'geolog',
    }
    for (const [word, stem] of Object.entries(expected)) expect(porterStem(word)).toBe(stem)
  })

  it('uses the irregular-forms pool', () => {
    expect(porterStem('sky')).toBe('sky')
    expect(porterStem('skies')).toBe('sky')
    expect(porterStem('dying')).toBe('die')
    expect(porterStem('lying')).toBe('lie')
    expect(porterStem('news')).toBe('news')
    expect(porterStem('proceed')).toBe('proceed')
    expect(porterStem('innings')).toBe('inning')
    // NLTK looks the word up before lower-casing it, so 'Sky' is stemmed normally
    expect(porterStem('Sky')).toBe('ski')
  })

  it('lower-cases, leaves 1-2 letter words alone and survives odd input (NLTK regression tests)', () => {
    expect(porterStem('oed')).toBe('o')
    expect(porterStem('On')).toBe('on')
    expect(porterStem('I')).toBe('i')
    expect(porterStem('Github')).toBe('github')
    expect(porterStem('')).toBe('')
    expect(porterStem('ion')).toBe('ion')
    expect(porterStem('2024')).toBe('2024')
  })

  it('rejects non-strings', () => {
    expect(() => porterStem(7 as unknown as string)).toThrow(LossArgumentError)
  })
})

// Expected values computed in Python with rouge-score's scoring code (rouge_scorer.py,
// scoring.py, tokenize.py) and NLTK 3.8's PorterStemmer; [precision, recall, fmeasure].
const GOLDEN = [
  {
    target:
      'Podcasts explain complicated topics clearly.\nThe hosts interviewed three researchers about climate models.\nListeners asked many questions.',
    prediction:
      'The hosts interviewed researchers about climate modelling.\nPodcasts explained complicated topics!\nMany listeners were asking questions.',
    results: [
      {
        stem: false,
        rouge1: [0.75, 0.7058823529411765, 0.7272727272727272],
        rouge2: [0.3333333333333333, 0.3125, 0.3225806451612903],
        rougeL: [0.5, 0.47058823529411764, 0.48484848484848486],
        rougeLsum: [0.6875, 0.6470588235294118, 0.6666666666666667],
      },
      {
        stem: true,
        rouge1: [0.9375, 0.8823529411764706, 0.9090909090909091],
        rouge2: [0.5333333333333333, 0.5, 0.5161290322580646],
        rougeL: [0.625, 0.5882352941176471, 0.6060606060606061],
        rougeLsum: [0.875, 0.8235294117647058, 0.8484848484848485],
      },
    ],
  },
  {
    target: "It's 2024: the U.S. economy grew 3.1% -- analysts said.\nInflation cooled.",
    prediction: 'Analysts said the economy grew by 3 percent in 2024.\nInflation is cooling, analysts said.',
    results: [
      {
        stem: false,
        rouge1: [0.5333333333333333, 0.5714285714285714, 0.5517241379310344],
        rouge2: [0.14285714285714285, 0.15384615384615385, 0.14814814814814817],
        rougeL: [0.4, 0.42857142857142855, 0.4137931034482759],
        rougeLsum: [0.4666666666666667, 0.5, 0.4827586206896552],
      },
      {
        stem: true,
        rouge1: [0.6, 0.6428571428571429, 0.6206896551724138],
        rouge2: [0.14285714285714285, 0.15384615384615385, 0.14814814814814817],
        rougeL: [0.4, 0.42857142857142855, 0.4137931034482759],
        rougeLsum: [0.5333333333333333, 0.5714285714285714, 0.5517241379310344],
      },
    ],
  },
] as const

describe('rougeScores against rouge-score golden values', () => {
  for (const [n, g] of GOLDEN.entries()) {
    for (const r of g.results) {
      it(`case ${n + 1}, stem=${r.stem}`, () => {
        const s = rougeScores(g.target, g.prediction, {stem: r.stem})
        for (const key of ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const) {
          const [p, rc, f] = r[key]
          expect(Math.abs(s[key].precision - p)).toBeLessThan(1e-12)
          expect(Math.abs(s[key].recall - rc)).toBeLessThan(1e-12)
          expect(Math.abs(s[key].fmeasure - f)).toBeLessThan(1e-12)
        }
      })
    }
  }
})
