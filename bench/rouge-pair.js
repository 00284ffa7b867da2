// A transcript / script pair of the shape the trainer scores: an hour-long episode
// (~10,000 tokens in a few hundred Whisper-like segments of 5-60 words) and a script
// of the same length written from the same paper (lines of 10-120 words, so some
// ROUGE-Lsum sentences pass 32 and 64 tokens). English-like: function words at their
// real, Zipf-like frequency (they occur in nearly every sentence, so nearly every
// sentence pair shares a token), a topic vocabulary both sides draw from, and a long
// tail of words each side uses alone.
// The script paraphrases about a fifth of the transcript's sentences (keeps most of
// their words in order, swaps some) and writes the rest anew: ROUGE-1 F near 0.6.

/** mulberry32: small deterministic PRNG. */
export function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// The most frequent English words, in frequency order (roughly).
const FUNCTION_WORDS = `the of and to a in that is it you i was for on are with as this be at have
they we not but what so or from by one all there can an your which their if do will about
would my has more when up out them like just who been how then its some into than other
could our these also now two very because first well only any even know think really going
get people thing things kind lot actually right yeah said say way mean sort much where here
those why did had were does doing being make made see look find found new many most same
both each few while through over after before between again still never always something`.split(/\s+/)

// Topic words (a paper on sleep and memory, told as a podcast), many inflected so the
// Porter stemmer has work to do.
const TOPIC_WORDS = `sleep sleeping slept memory memories remember remembering remembered brain brains
neuron neurons neuronal hippocampus hippocampal cortex cortical consolidation consolidate consolidating
replay replayed replaying spindle spindles oscillation oscillations slow wave waves rhythm rhythms
study studies studied experiment experiments experimental participant participants subject subjects
learning learned learn learns task tasks recall recalled recalling test tested testing performance
night nights nap naps napping dream dreams dreaming rem stage stages deep deeper deepest
researcher researchers scientist scientists paper papers result results finding findings evidence
effect effects effective effectively measure measured measuring measurement measurements signal signals
activity activities active pattern patterns stimulus stimuli stimulation stimulate stimulating sound sounds
cue cues cueing cued reactivation reactivate reactivated targeted targeting group groups control controls
condition conditions significant significantly increase increased increasing decrease decreased reduction
improve improved improvement improvements mouse mice rat rats animal animals human humans patient patients
age aging older younger adult adults child children student students hour hours minute minutes
question questions answer answers idea ideas theory theories model models mechanism mechanisms
process processes processing information connection connections synapse synapses synaptic strength
strengthen strengthened strengthening weaken weakened plasticity homeostasis homeostatic hypothesis
data analysis analyses analysed correlation correlated relationship relationships difference differences
interesting surprising surprisingly important importantly fascinating basically exactly probably
listener listeners episode episodes show guest host conversation talk talking talked story stories
caffeine alcohol coffee morning evening bedtime schedule schedules routine routines health healthy`.split(/\s+/)

/** Zipf-like draw over a list ordered by frequency: rank r has weight ~ 1/(r+2). */
function zipf(rand, words) {
  // Inverse CDF of a continuous 1/x law on [2, n+2).
  const n = words.length
  const x = 2 * Math.pow((n + 2) / 2, rand())
  return words[Math.min(n - 1, Math.floor(x) - 2)]
}

const SYLLABLES = 'ka lo mi ren tas vel dor pi su gram ther con ple stra ny qua bel sim tor e an ti'.split(' ')
const SUFFIXES = ['', '', '', 's', 'ed', 'ing', 'ation', 'ness', 'ly', 'er', 'ies', 'ful', 'ment', 'ize', 'ive']

/** The long tail: words only one side uses (names, asides, its own wording). */
function tailVocabulary(rand, size) {
  const words = new Set()
  while (words.size < size) {
    let w = ''
    for (let k = 2 + Math.floor(rand() * 2); k > 0; k--) w += SYLLABLES[Math.floor(rand() * SYLLABLES.length)]
    words.add(w + SUFFIXES[Math.floor(rand() * SUFFIXES.length)])
  }
  return [...words]
}

function drawWord(rand, tail) {
  const r = rand()
  if (r < 0.4) return zipf(rand, FUNCTION_WORDS)
  if (r < 0.55) return zipf(rand, TOPIC_WORDS)
  return zipf(rand, tail)
}

function sentence(rand, length, tail) {
  return Array.from({length}, () => drawWord(rand, tail))
}

/** Capitalise, punctuate, one sentence a line. */
function toText(rand, sentences) {
  return sentences
    .map((words) => {
      const out = words.map((w, i) => (i > 0 && rand() < 0.06 ? `${w},` : w))
      out[0] = out[0][0].toUpperCase() + out[0].slice(1)
      return `${out.join(' ')}${rand() < 0.15 ? '?' : '.'}`
    })
    .join('\n')
}

/** `tokens` words on each side. */
export function makeRougePair(seed = 42, tokens = 10_000) {
  const rand = prng(seed)
  const transcriptTail = tailVocabulary(rand, 3000)
  const scriptTail = tailVocabulary(rand, 3000)
  const transcript = []
  for (let total = 0; total < tokens;) {
    const length = Math.min(tokens - total, 5 + Math.floor(rand() * 56))
    transcript.push(sentence(rand, length, transcriptTail))
    total += length
  }
  const script = []
  let total = 0
  while (total < tokens) {
    let words
    if (rand() < 0.2) {
      // Paraphrase a transcript sentence (or two run together): most words kept in order.
      const from = Math.floor(rand() * transcript.length)
      const source = rand() < 0.4 ? [...transcript[from], ...(transcript[from + 1] ?? [])] : transcript[from]
      words = []
      for (const w of source) {
        const r = rand()
        if (r < 0.1) continue
        words.push(r < 0.3 ? drawWord(rand, scriptTail) : w)
        if (rand() < 0.08) words.push(drawWord(rand, scriptTail))
      }
      if (words.length === 0) words.push(drawWord(rand, scriptTail))
    } else words = sentence(rand, 10 + Math.floor(rand() * 111), scriptTail)
    words = words.slice(0, tokens - total)
    script.push(words)
    total += words.length
  }
  return {
    target: toText(rand, transcript),
    prediction: toText(rand, script),
    targetLines: transcript.length,
    predictionLines: script.length,
  }
}
