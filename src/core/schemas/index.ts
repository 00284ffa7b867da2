/** Every schema, for library users (`import {schemas} from 'studio'`); studio's own modules import the one they need. */
export * from './answers.js'
export * from './common.js'
export * from './dataset.js'
export * from './events.js'
export * from './files.js'
export * from './inputs.js'
export * from './paper-cache.js'
export * from './signals.js'
