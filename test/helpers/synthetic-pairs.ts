/**
 * Generated pairs of any length, for tests and the calibration benchmark: a paper as
 * Markdown with the sections of a research paper (Abstract, Introduction, Related Work,
 * Method, Results, Discussion, Conclusion), and a human-style episode about it as a
 * sidecar transcript (`x.transcript.json`) with a silent MP3 of the same length. The text
 * comes from templates filled with a topic's vocabulary, deterministic for a seed.
 */
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

import {seededRandom, type Random} from '../../src/core/random.js'
import {countWords} from '../../src/core/text.js'
import {buildSilentMp3, type TranscriptJson} from './media.js'

interface Topic {
  title: string
  /** The ideas the paper is about, most central first. */
  concepts: string[]
  /** Who cares about the problem. */
  people: string[]
  /** What is measured. */
  measures: string[]
  /** What it is compared with. */
  baselines: string[]
  /** Where the data comes from. */
  sources: string[]
  limitations: string[]
}

const TOPICS: Topic[] = [
  {
    title: 'Green Roofs and the Urban Heat Island in Mid-Sized Cities',
    concepts: [
      'urban heat island',
      'green roofs',
      'surface temperature',
      'land cover',
      'evapotranspiration',
      'thermal imagery',
      'cooling effect',
    ],
    people: ['city planners', 'residents of dense neighbourhoods', 'public health agencies'],
    measures: ['peak afternoon temperature', 'night-time temperature', 'energy use for cooling'],
    baselines: ['conventional roofs', 'reflective white roofs', 'street trees alone'],
    sources: ['satellite thermal scenes', 'rooftop sensors', 'municipal building records'],
    limitations: ['a single summer of data', 'roofs chosen by their owners rather than at random', 'sensors that drift in direct sun'],
  },
  {
    title: 'Early Detection of Sepsis from Routine Vital Signs',
    concepts: ['sepsis', 'vital signs', 'early warning score', 'gradient boosting', 'false alarms', 'lead time', 'intensive care'],
    people: ['nurses on busy wards', 'hospital administrators', 'patients and their families'],
    measures: ['hours of warning before diagnosis', 'alarms per patient day', 'missed cases'],
    baselines: ['the standard early warning score', 'clinician judgement', 'a logistic regression'],
    sources: ['electronic health records', 'bedside monitors', 'laboratory results'],
    limitations: ['data from two hospitals', 'labels taken from billing codes', 'no prospective trial yet'],
  },
  {
    title: 'Battery Degradation in Shared Electric Scooters',
    concepts: [
      'battery degradation',
      'charge cycles',
      'state of health',
      'fast charging',
      'scooter fleets',
      'depth of discharge',
      'replacement policy',
    ],
    people: ['fleet operators', 'city transport departments', 'riders'],
    measures: ['capacity lost per month', 'cost per ride', 'scooters out of service'],
    baselines: ['manufacturer guidance', 'fixed replacement schedules', 'charging every night'],
    sources: ['telemetry from the fleet', 'workshop logs', 'laboratory cycling tests'],
    limitations: ['one climate zone', 'a single battery chemistry', 'telemetry gaps during outages'],
  },
  {
    title: 'Pollinator Decline and Wildflower Strips on Farmland',
    concepts: [
      'pollinator decline',
      'wildflower strips',
      'wild bees',
      'crop yield',
      'floral resources',
      'pesticide exposure',
      'landscape diversity',
    ],
    people: ['farmers', 'conservation agencies', 'beekeepers'],
    measures: ['bee visits per hour', 'fruit set', 'species richness'],
    baselines: ['bare field margins', 'grass margins', 'managed honeybee hives'],
    sources: ['transect walks', 'pan traps', 'harvest records'],
    limitations: ['three growing seasons', 'farms that volunteered', 'identification to genus level only'],
  },
  {
    title: 'Retrieval-Augmented Question Answering over Legal Contracts',
    concepts: [
      'retrieval augmentation',
      'legal contracts',
      'clause retrieval',
      'language model',
      'hallucinated answers',
      'citation accuracy',
      'dense retriever',
    ],
    people: ['lawyers', 'small businesses', 'compliance teams'],
    measures: ['exact-match accuracy', 'answers with a correct citation', 'time to answer'],
    baselines: ['keyword search', 'a model without retrieval', 'a junior associate'],
    sources: ['a corpus of public contracts', 'questions written by lawyers', 'annotated clauses'],
    limitations: ['English contracts only', 'questions with a single answer', 'a fixed snapshot of the model'],
  },
  {
    title: 'Microplastics in River Sediments Downstream of Treatment Plants',
    concepts: ['microplastics', 'river sediments', 'treatment plants', 'fibre particles', 'spectroscopy', 'sediment cores', 'flood events'],
    people: ['water utilities', 'environmental regulators', 'anglers'],
    measures: ['particles per kilogram', 'share of fibres', 'concentration after floods'],
    baselines: ['upstream sites', 'historical surveys', 'lake sediments'],
    sources: ['sediment cores', 'grab samples', 'plant discharge records'],
    limitations: ['particles larger than 50 micrometres only', 'two rivers', 'contamination during sampling'],
  },
  {
    title: 'Sleep Regularity and Exam Performance in First-Year Students',
    concepts: [
      'sleep regularity',
      'exam performance',
      'wearable trackers',
      'circadian rhythm',
      'social jet lag',
      'academic stress',
      'bedtime variability',
    ],
    people: ['students', 'universities', 'parents'],
    measures: ['grade point average', 'minutes of sleep', 'variation in bedtime'],
    baselines: ['total sleep time alone', 'self-reported sleep', 'students with fixed schedules'],
    sources: ['wrist-worn trackers', 'course grades', 'daily surveys'],
    limitations: ['one university', 'volunteers who owned smartphones', 'an observational design'],
  },
  {
    title: 'Predicting Landslides from Rainfall and Soil Moisture',
    concepts: [
      'landslides',
      'soil moisture',
      'rainfall thresholds',
      'slope stability',
      'early warning',
      'remote sensing',
      'false negatives',
    ],
    people: ['mountain communities', 'road agencies', 'emergency services'],
    measures: ['landslides predicted', 'warnings per season', 'hours of lead time'],
    baselines: ['rainfall thresholds alone', 'expert bulletins', 'a static susceptibility map'],
    sources: ['rain gauges', 'satellite soil moisture', 'landslide inventories'],
    limitations: ['an inventory biased toward roads', 'coarse satellite pixels', 'a decade of records'],
  },
]

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!
}

function percent(random: Random): number {
  return Math.round(5 + random() * 40)
}

type Filler = (t: Topic, r: Random) => string

const c = (t: Topic, r: Random) => pick(r, t.concepts)
const c0 = (t: Topic) => t.concepts[0]!

const SECTIONS: Array<{heading: string; share: number; templates: Filler[]}> = [
  {
    heading: 'Abstract',
    share: 0.05,
    templates: [
      (t) => `We study ${c0(t)} and ask how ${t.concepts[1]} changes ${t.measures[0]}.`,
      (t, r) =>
        `Using ${pick(r, t.sources)}, we find that ${t.concepts[1]} reduces ${t.measures[0]} by ${percent(r)} percent compared with ${t.baselines[0]}.`,
      (t, r) => `The effect depends on ${c(t, r)} and is largest where ${t.concepts[2]} is high.`,
    ],
  },
  {
    heading: '1 Introduction',
    share: 0.17,
    templates: [
      (t, r) => `${cap(c0(t))} is a growing problem for ${pick(r, t.people)}.`,
      (t, r) => `Despite years of work, the link between ${c(t, r)} and ${pick(r, t.measures)} remains poorly understood.`,
      (t, r) => `This matters because ${pick(r, t.people)} make decisions about ${c(t, r)} every day, often without good evidence.`,
      (t, r) => `Traditionally, studies have relied on ${pick(r, t.baselines)}, which misses much of the variation in ${c(t, r)}.`,
      (t, r) => `The central challenge is that ${c(t, r)} and ${c(t, r)} change together, so their effects are hard to separate.`,
      (t, r) => `In this paper we combine ${pick(r, t.sources)} with ${pick(r, t.sources)} to measure ${c(t, r)} directly.`,
      (t, r) => `Our contributions are a new dataset, a model of ${c(t, r)}, and an evaluation against ${pick(r, t.baselines)}.`,
    ],
  },
  {
    heading: '2 Related Work',
    share: 0.1,
    templates: [
      (t, r) => `Earlier work measured ${c(t, r)} with ${pick(r, t.sources)} but did not consider ${c(t, r)}.`,
      (t, r) =>
        `Several studies report that ${pick(r, t.baselines)} performs well on ${pick(r, t.measures)}, although results vary between sites.`,
      (t, r) =>
        `A second line of research models ${c(t, r)} from first principles, which requires detailed inputs that are rarely available.`,
      (t, r) => `Our approach differs in that it treats ${c(t, r)} as a quantity to be estimated rather than assumed.`,
    ],
  },
  {
    heading: '3 Method',
    share: 0.25,
    templates: [
      (t, r) => `We collected ${pick(r, t.sources)} from ${10 + Math.floor(r() * 90)} sites over ${2 + Math.floor(r() * 5)} years.`,
      (t, r) => `Each record was matched to ${c(t, r)}, ${c(t, r)} and ${pick(r, t.measures)}.`,
      (t, r) =>
        `To estimate ${c(t, r)}, we fit a hierarchical model with a separate intercept for each site and a shared slope for ${c(t, r)}.`,
      (t, r) => `Missing values in ${pick(r, t.sources)} were filled by interpolation from neighbouring records.`,
      (t, r) => `The model was trained on the first ${60 + Math.floor(r() * 20)} percent of the data and tested on the rest.`,
      (t, r) => `We compare it with ${pick(r, t.baselines)} and with ${pick(r, t.baselines)}, using the same inputs.`,
      (t, r) => `The main outcome is ${pick(r, t.measures)}; secondary outcomes include ${pick(r, t.measures)}.`,
      () => `All analyses were specified before the data were examined, and the code is available on request.`,
    ],
  },
  {
    heading: '4 Results',
    share: 0.23,
    templates: [
      (t, r) => `${cap(c(t, r))} reduced ${pick(r, t.measures)} by ${percent(r)} percent relative to ${pick(r, t.baselines)}.`,
      (t, r) => `The improvement was largest at sites with high ${c(t, r)}, where it reached ${percent(r) + 10} percent.`,
      (t, r) =>
        `Compared with ${pick(r, t.baselines)}, our model increased accuracy on ${pick(r, t.measures)} from ${50 + percent(r)} to ${60 + percent(r)} percent.`,
      (t, r) => `We found no significant effect of ${c(t, r)} on ${pick(r, t.measures)} once ${c(t, r)} was accounted for.`,
      (t, r) => `Across all sites, ${c(t, r)} explained ${percent(r)} percent of the variance in ${pick(r, t.measures)}.`,
      (t, r) => `The results were robust to the choice of ${pick(r, t.sources)} and to removing the largest sites.`,
    ],
  },
  {
    heading: '5 Discussion',
    share: 0.14,
    templates: [
      (t, r) => `These findings suggest that ${c(t, r)} matters more for ${pick(r, t.people)} than previously assumed.`,
      (t, r) => `One limitation is ${pick(r, t.limitations)}, which may bias the estimate of ${c(t, r)}.`,
      (t, r) => `In practice, ${pick(r, t.people)} could use ${c(t, r)} to prioritise where to act first.`,
      (t, r) => `A caveat is ${pick(r, t.limitations)}; future work should test the model elsewhere.`,
      (t, r) => `The trade-off between ${c(t, r)} and ${pick(r, t.measures)} deserves further study.`,
    ],
  },
  {
    heading: '6 Conclusion',
    share: 0.06,
    templates: [
      (t, r) => `We showed that ${c(t, r)} can be estimated from ${pick(r, t.sources)} and that it changes ${pick(r, t.measures)}.`,
      (t, r) => `Future work will extend the approach to ${c(t, r)} and to longer time spans.`,
    ],
  },
]

function cap(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

export interface SyntheticPaper {
  title: string
  topic: Topic
  markdown: string
  words: number
}

/** A paper of about `words` words (Markdown), on the topic `seed` picks. */
export function syntheticPaper(seed: number, words: number): SyntheticPaper {
  const random = seededRandom('synthetic-paper', seed)
  const topic = TOPICS[Math.abs(seed) % TOPICS.length]!
  const lines = [`# ${topic.title}`, '']
  let total = 0
  for (const section of SECTIONS) {
    lines.push(`## ${section.heading}`, '')
    let spent = 0
    let paragraph: string[] = []
    while (spent < section.share * words) {
      const sentence = pick(random, section.templates)(topic, random)
      paragraph.push(sentence)
      spent += countWords(sentence)
      if (paragraph.length >= 4 + Math.floor(random() * 3)) {
        lines.push(paragraph.join(' '), '')
        paragraph = []
      }
    }
    if (paragraph.length) lines.push(paragraph.join(' '), '')
    total += spent
  }
  return {title: topic.title, topic, markdown: lines.join('\n'), words: total}
}

/** An episode's style: how its hosts talk. */
export interface EpisodeStyle {
  wordsPerMinute: number
  /** Host questions per minute, roughly. */
  questionsPerMinute: number
}

const GUEST_LINES: Record<'background' | 'method' | 'findings' | 'discussion', Filler[]> = {
  background: [
    (t, r) => `So the problem is really about ${c(t, r)}, and why it matters for ${pick(r, t.people)}.`,
    (t, r) => `Before this, people mostly looked at ${pick(r, t.baselines)}, which is fine, but it misses a lot.`,
    (t) => `You know, everyone talks about ${c0(t)}, but nobody had measured it properly.`,
    (t, r) => `The challenge is that ${c(t, r)} and ${c(t, r)} move together.`,
  ],
  method: [
    (t, r) => `We basically pulled together ${pick(r, t.sources)} and ${pick(r, t.sources)}.`,
    (t, r) => `Then we built a model that looks at ${c(t, r)} site by site.`,
    (t, r) => `The approach is pretty simple: compare ${c(t, r)} with ${pick(r, t.baselines)} on the same data.`,
    () => `We held back part of the data, so we could check the model on places it had never seen.`,
  ],
  findings: [
    (t, r) => `The main result is that ${c(t, r)} cut ${pick(r, t.measures)} by about ${percent(r)} percent.`,
    (t, r) => `And it was strongest where ${c(t, r)} was high, which surprised us a bit.`,
    (t, r) => `Compared with ${pick(r, t.baselines)}, it's a clear improvement, not a huge one, but clear.`,
    (t, r) => `We found the effect held up when we swapped in ${pick(r, t.sources)}.`,
  ],
  discussion: [
    (t, r) => `The big limitation is ${pick(r, t.limitations)}.`,
    (t, r) => `In practice I think ${pick(r, t.people)} could use this tomorrow.`,
    (t, r) => `What's next is testing it on ${c(t, r)} somewhere else.`,
    (t, r) => `There's a real trade-off with ${pick(r, t.measures)}, and we don't fully understand it yet.`,
  ],
}

const HOST_QUESTIONS: Record<keyof typeof GUEST_LINES, Filler[]> = {
  background: [(t, r) => `Why does ${c(t, r)} matter so much?`, () => `What was missing before your work?`, () => `Why is this hard?`],
  method: [
    () => `So how did you actually do it?`,
    (t, r) => `Walk us through the method: where does ${c(t, r)} come in?`,
    () => `What data did you use?`,
  ],
  findings: [() => `What did you find?`, () => `How big was the improvement?`, (t, r) => `Did ${c(t, r)} make a difference?`],
  discussion: [() => `What are the limitations?`, () => `What does this mean in practice?`, () => `What comes next?`],
}

const PARTS = ['background', 'method', 'findings', 'discussion'] as const
const PART_SHARE = {background: 0.26, method: 0.25, findings: 0.27, discussion: 0.22}

/**
 * A two-speaker episode about the paper, `words` words long, as a transcript.json
 * sidecar: a welcome, a part on each of background, method, findings and discussion
 * (host questions, guest answers in plain words), and a goodbye; timed at the style's pace.
 */
export function syntheticEpisode(paper: SyntheticPaper, seed: number, words: number, style: EpisodeStyle): TranscriptJson {
  const random = seededRandom('synthetic-episode', seed)
  const t = paper.topic
  const lines: Array<{speaker: string; text: string}> = [
    {speaker: 'Host', text: `Welcome to the show. Today we're talking about ${t.concepts[0]} with the lead author of a new paper.`},
    {speaker: 'Guest', text: 'Thanks for having me.'},
  ]
  const closing = {speaker: 'Host', text: "That's all for today. Thanks for listening, and see you next time."}
  const body = words - lines.reduce((n, l) => n + countWords(l.text), 0) - countWords(closing.text)
  const wordsPerQuestion = style.wordsPerMinute / Math.max(style.questionsPerMinute, 0.1)
  for (const part of PARTS) {
    const budget = body * PART_SHARE[part]
    let spent = 0
    let sinceQuestion = Infinity
    while (spent < budget) {
      if (sinceQuestion >= wordsPerQuestion) {
        const question = pick(random, HOST_QUESTIONS[part])(t, random)
        lines.push({speaker: 'Host', text: question})
        spent += countWords(question)
        sinceQuestion = 0
      }
      const answer = pick(random, GUEST_LINES[part])(t, random)
      const last = lines.at(-1)!
      if (last.speaker === 'Guest') last.text += ` ${answer}`
      else lines.push({speaker: 'Guest', text: answer})
      spent += countWords(answer)
      sinceQuestion += countWords(answer)
    }
  }
  lines.push(closing)
  const secondsPerWord = 60 / style.wordsPerMinute
  let clock = 0.3
  const segments = lines.map((line) => {
    const start = clock
    clock += countWords(line.text) * secondsPerWord
    const segment = {start: round3(start), end: round3(clock), speaker: line.speaker, text: line.text}
    clock += 0.3
    return segment
  })
  return {version: 1, duration_seconds: round3(clock), segments}
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}

export interface SyntheticPairSpec {
  id: string
  seed: number
  paperWords: number
  episodeWords: number
  style: EpisodeStyle
}

/** Writes `<id>.md`, `<id>.transcript.json` and a silent `<id>.mp3` as long as the transcript, per pair. */
export async function writeSyntheticPairs(dir: string, specs: readonly SyntheticPairSpec[]): Promise<void> {
  for (const spec of specs) {
    const paper = syntheticPaper(spec.seed, spec.paperWords)
    const episode = syntheticEpisode(paper, spec.seed, spec.episodeWords, spec.style)
    await writeFile(path.join(dir, `${spec.id}.md`), paper.markdown)
    await writeFile(path.join(dir, `${spec.id}.transcript.json`), `${JSON.stringify(episode, null, 2)}\n`)
    // Low-rate silence keeps a 15-minute episode under a megabyte.
    await writeFile(path.join(dir, `${spec.id}.mp3`), buildSilentMp3(episode.duration_seconds, {sampleRate: 22050, bitrateKbps: 8}))
  }
}
