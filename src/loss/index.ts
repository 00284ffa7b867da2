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
  selectionLoss,
  selectionSeries,
  selectionSplit,
  type BestTrial,
  type SelectionSplit,
  type TrialLosses,
} from './selection.js'
export {ConceptText, conceptWords, matchConcepts, sameConcept} from './concepts.js'
