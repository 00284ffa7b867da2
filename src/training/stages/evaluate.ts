/**
 * One pair in one trial: generate a script from the prompt, have it judged, and
 * compute the five losses against the pair's reference episode.
 */
import path from 'node:path'

import type {Providers} from '../../core/providers.js'
import {collapse, shares, styleProfile} from './analyse.js'
import {pairSlug} from './discover.js'
import type {Paper} from '../../media/paper.js'
import {
  coverageLoss,
  durationLoss,
  qualityLoss,
  rougeLossFromScores,
  rougeScores,
  structureLoss,
  totalLoss,
  type Weights,
} from '../../loss/index.js'
import {judgeMessages, renderScriptText} from '../messages.js'
import {generatorMessages} from '../prompt.js'
import {JudgeAnswer, ScriptAnswer} from '../../core/schemas/answers.js'
import {type PairAnalysis, type PairTrialResult} from '../../core/schemas/files.js'
import {type PairFiles} from '../../core/schemas/inputs.js'
import {type PromptSpec, type Split} from '../../core/schemas/common.js'
import {writeFileAtomic} from '../../core/store.js'
import {voiceScript} from '../voice.js'
import {countWords} from '../../core/text.js'

/** A pair ready for trials: its files, paper, analysis and reference transcript text. */
export interface PreparedPair {
  files: PairFiles
  paper: Paper
  analysis: PairAnalysis
  referenceText: string
  /** What generation and judging see: the paper body, condensed when it exceeds their token budget. */
  paperText: string
}

export async function scorePair(
  pair: PreparedPair,
  prompt: PromptSpec,
  weights: Weights,
  trialDir: string,
  seed: number,
  providers: Providers,
  split: Split,
  /** --tts: voice the script and score the duration on the audio's measured length. */
  tts = false,
): Promise<Omit<PairTrialResult, 'usage'>> {
  const {analysis, paper} = pair
  const title = paper.title
  const script = (
    await providers.languageModel('generate').structured({
      role: 'generate',
      messages: generatorMessages(prompt, title, pair.paperText, analysis.concepts),
      schema: ScriptAnswer,
      task: {kind: 'generate-script', prompt, title, paper: pair.paperText, concepts: analysis.concepts},
      seed,
    })
  ).value
  // The judge call goes out now; the writing and local scoring below run while it is in flight.
  const judgeCall = providers.languageModel('judge').structured({
    role: 'judge',
    messages: judgeMessages(script, pair.paperText, analysis.concepts, analysis.style),
    schema: JudgeAnswer,
    task: {kind: 'judge', script, paper: pair.paperText, concepts: analysis.concepts, reference_style: analysis.style},
    seed,
  })
  judgeCall.catch(() => {})
  const scriptFile = `${pairSlug(pair.files.id)}_script.txt`
  await writeFileAtomic(path.join(trialDir, scriptFile), renderScriptText(script))

  const generatedSegments = script.segments.map((s) => ({label: s.label, words: s.lines.reduce((n, l) => n + countWords(l.text), 0)}))
  const generatedWords = generatedSegments.reduce((n, s) => n + s.words, 0)
  const referenceWpm = analysis.style.words_per_minute
  let generatedSeconds = referenceWpm > 0 ? (generatedWords / referenceWpm) * 60 : 0
  let audioFile: string | undefined
  if (tts) {
    if (!providers.speech) throw new Error('scorePair: --tts needs a speech provider')
    const voiced = await voiceScript(
      script,
      prompt.speakers.map((s) => s.name),
      providers.speech,
    )
    audioFile = `${pairSlug(pair.files.id)}_audio.mp3`
    await writeFileAtomic(path.join(trialDir, audioFile), voiced.bytes)
    // The measured length of the voiced script, not an estimate from its words.
    generatedSeconds = voiced.durationSeconds
  }
  const referenceSeconds = analysis.episode.duration_seconds
  const prediction = script.segments.flatMap((s) => s.lines.map((l) => l.text)).join('\n')
  const rouge = rougeScores(pair.referenceText, prediction, {stem: true})
  const scriptStyle = styleProfile(
    script.segments.flatMap((s) => s.lines),
    generatedSeconds,
  )

  const judge = (await judgeCall).value
  // Only the paper's own concepts count, whatever else a judge may list.
  const claimed = new Set(judge.concepts_explained.map((t) => t.trim().toLowerCase()))
  const explained = analysis.concepts.filter((c) => claimed.has(c.term.toLowerCase())).map((c) => c.term)
  const missed = analysis.concepts.filter((c) => !claimed.has(c.term.toLowerCase())).map((c) => c.term)

  const losses = {
    duration: durationLoss(generatedSeconds, referenceSeconds),
    // A paper without key concepts has nothing to miss.
    coverage: analysis.concepts.length ? coverageLoss(explained.length, analysis.concepts.length) : 0,
    structure: structureLoss(
      generatedSegments,
      analysis.segments.map((s) => ({label: s.label, words: s.words})),
    ),
    quality: qualityLoss(judge),
    rouge: rougeLossFromScores(rouge),
  }
  return {
    pair_id: pair.files.id,
    status: 'ok',
    split,
    script_file: scriptFile,
    losses: {...losses, total: totalLoss(losses, weights)},
    details: {
      generated_words: generatedWords,
      generated_seconds: generatedSeconds,
      duration_source: audioFile ? 'audio' : 'words',
      ...(audioFile ? {audio_file: audioFile} : {}),
      reference_seconds: referenceSeconds,
      reference_words_per_minute: referenceWpm,
      concepts_total: analysis.concepts.length,
      concepts_explained: explained,
      concepts_missed: missed,
      generated_sequence: collapse(generatedSegments.map((s) => s.label)),
      reference_sequence: analysis.structure.sequence,
      generated_word_shares: shares(generatedSegments, (i) => generatedSegments[i]!.words),
      generated_questions_per_minute: scriptStyle.questions_per_minute,
      generated_mean_sentence_words: scriptStyle.mean_sentence_words,
      judge: {
        engagement: judge.engagement,
        clarity: judge.clarity,
        accuracy: judge.accuracy,
        weakest_dimension_reason: judge.weakest_dimension_reason,
      },
      rouge: {rouge1: rouge.rouge1.fmeasure, rouge2: rouge.rouge2.fmeasure, rougeL: rouge.rougeL.fmeasure},
    },
  }
}
