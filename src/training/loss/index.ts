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
export {porterStem} from './porter.js'
export {LossArgumentError, durationLoss, coverageLoss, structureLoss, qualityLoss, totalLoss, type LabelledWords} from './losses.js'
export {LOSS_NAMES, DEFAULT_WEIGHTS, normalizeWeights, parseWeights, type LossName, type Weights, type Losses} from './weights.js'
export {hasConverged, bestTrialIndex} from './convergence.js'
