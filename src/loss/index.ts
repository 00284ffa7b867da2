/** Loss library for training: pure functions, no I/O. */
export {
  rougeScores,
  rougeLoss,
  rougeLossFromScores,
  tokenize,
  lcsLength,
  lcsIndices,
  type RougeScore,
  type RougeScores,
  type RougeOptions,
} from './rouge.js'
export {porterInflectionStem, porterStem} from './porter.js'
export {LossArgumentError} from './errors.js'
export {durationLoss, coverageLoss, structureLoss, qualityLoss, type LabelledWords} from './losses.js'
export {LOSSES, type LossDefinition, type LossInputs, type LossName, type Losses, type ScriptMeasures, type Weights} from './registry.js'
export {LOSS_NAMES, DEFAULT_WEIGHTS, computeLosses, isLossName, normalizeWeights, parseWeights, totalLoss} from './weights.js'
export {hasConverged, bestTrialIndex} from './convergence.js'
export {
  bestTrial,
  MIN_VALIDATION_PAIRS,
  SELECTION_LOSS_NAME,
  selectionLoss,
  selectionPairs,
  selectionRule,
  selectionSeries,
  selectionSplit,
  VALIDATION_TIE_TOLERANCE,
  validationPairsScored,
  type BestTrial,
  type PairLoss,
  type RecordedSelection,
  type SelectionSplit,
  type TrialLosses,
} from './selection.js'
export {
  EXCELLENT_THRESHOLDS,
  formatMeasure,
  trainingVerdict,
  trialVerdict,
  VERDICT_MEASURES,
  VERDICT_TITLE,
  verdictMeasures,
  type Verdict,
  type VerdictCheck,
  type VerdictMeasure,
  type VerdictPair,
} from './verdict.js'
export {ConceptText, conceptWords, matchConcepts, sameConcept} from './concepts.js'
