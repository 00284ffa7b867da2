import {describe, expect, it} from 'vitest'

import {guessTitle, splitReferences} from '../../src/media/paper.js'

describe('guessTitle', () => {
  it('joins a title that wraps onto a second line, stopping at the authors', () => {
    const text =
      'Tightly Coupled GNSS and Visual-Inertial Fusion for Robust\nUAV Positioning in Urban Canyons\nMaya R. Lindqvist, Tomas Okafor\nAbstract\nSmall drones...'
    expect(guessTitle(text)).toBe('Tightly Coupled GNSS and Visual-Inertial Fusion for Robust UAV Positioning in Urban Canyons')
  })

  it('takes a one-line title alone when the abstract follows', () => {
    expect(guessTitle('\n  Sparse Attention\nAbstract\nWe study...')).toBe('Sparse Attention')
  })

  it('falls back when there is no substantial line', () => {
    expect(guessTitle('\n\n ab \n')).toBe('this paper')
  })
})

describe('splitReferences', () => {
  it('keeps everything after the last References heading apart from the body', () => {
    const text = 'Intro text.\nWe cite references [1] here.\n7 References\n[1] A. Author. A paper. 2020.\n'
    expect(splitReferences(text)).toEqual({body: 'Intro text.\nWe cite references [1] here.', references: '[1] A. Author. A paper. 2020.'})
  })

  it('returns the whole text as body when there is no references section', () => {
    expect(splitReferences(' Just a body. ')).toEqual({body: 'Just a body.', references: ''})
  })
})
