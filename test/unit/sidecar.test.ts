import {describe, expect, it} from 'vitest'

import {InputError} from '../../src/core/errors.js'
import {parseSrt, parseTranscriptJson, parseVtt} from '../../src/media/sidecar.js'
import {srtText, vttText} from '../helpers/media.js'

const cues = [
  {start: 0, end: 4.25, speaker: 'Host', text: 'Welcome to the show.'},
  {start: 4.25, end: 9.5, speaker: 'Dr. Lee', text: 'Thanks for having me.'},
]

describe('parseVtt', () => {
  it('reads cue timings, text and <v Name> speakers', () => {
    const transcript = parseVtt('x.vtt', vttText(cues))
    expect(transcript).toEqual({source: 'sidecar-vtt', duration_seconds: 9.5, segments: cues})
  })

  it('accepts cues without identifiers, MM:SS timings, NOTE blocks, CRLF and "Name: text" speakers', () => {
    const content =
      'WEBVTT - episode 1\r\n\r\nNOTE written by hand\r\n\r\n00:01.000 --> 00:03.500 align:start\r\nHost: Hello there\r\nand welcome.\r\n\r\n00:03.500 --> 01:02.000\r\n<v.loud Guest>Hi!</v>\r\n'
    expect(parseVtt('x.vtt', content).segments).toEqual([
      {start: 1, end: 3.5, speaker: 'Host', text: 'Hello there and welcome.'},
      {start: 3.5, end: 62, speaker: 'Guest', text: 'Hi!'},
    ])
  })

  it('rejects a file without the WEBVTT header, naming line 1', () => {
    expect(() => parseVtt('ep.vtt', '00:00.000 --> 00:01.000\nhi\n')).toThrow('ep.vtt:1: a WebVTT file must start with "WEBVTT"')
  })

  it('names the line of a malformed timing', () => {
    const content = 'WEBVTT\n\n00:00.000 --> 00:01.000\nfine\n\n00:01.000 -> 00:02.000\nbroken arrow\n'
    const error = (() => {
      try {
        parseVtt('ep.vtt', content)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toBe(
      'ep.vtt:6: expected a cue timing line like "00:00:01.000 --> 00:00:04.000", found "00:01.000 -> 00:02.000"',
    )
  })

  it('rejects a cue that ends before it starts', () => {
    expect(() => parseVtt('ep.vtt', 'WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nback\n')).toThrow(
      'ep.vtt:3: cue ends (00:00:01.000) before it starts (00:00:05.000)',
    )
  })
})

describe('parseSrt', () => {
  it('reads numbered cues with comma milliseconds and "Name: text" speakers', () => {
    expect(parseSrt('x.srt', srtText(cues))).toEqual({source: 'sidecar-srt', duration_seconds: 9.5, segments: cues})
  })
})

describe('parseTranscriptJson', () => {
  it('reads the project format and defaults missing speakers to null', async () => {
    const content = JSON.stringify({
      version: 1,
      segments: [
        {start: 0, end: 2, text: 'Hi'},
        {start: 2, end: 5, speaker: 'Guest', text: 'Hello'},
      ],
    })
    expect(await parseTranscriptJson('x.transcript.json', content)).toEqual({
      source: 'sidecar-json',
      duration_seconds: 5,
      segments: [
        {start: 0, end: 2, speaker: null, text: 'Hi'},
        {start: 2, end: 5, speaker: 'Guest', text: 'Hello'},
      ],
    })
  })

  it('reports invalid JSON with its line number and what was expected', async () => {
    await expect(parseTranscriptJson('x.transcript.json', '{\n  "version": 1,\n  "segments": [,]\n}')).rejects.toThrow(
      'x.transcript.json:3: invalid JSON: ValueExpected at ",]"',
    )
    await expect(parseTranscriptJson('x.transcript.json', '{"version": 1, "segments": []} trailing')).rejects.toThrow(
      'x.transcript.json:1: invalid JSON: InvalidSymbol at "trailing"',
    )
  })

  it('reports a schema mismatch with the field path', async () => {
    await expect(
      parseTranscriptJson('x.transcript.json', JSON.stringify({version: 1, segments: [{start: 0, end: -1, text: 'x'}]})),
    ).rejects.toThrow(/^x\.transcript\.json: not a studio transcript: segments\.0\.end: /)
  })
})
