/** The CLI entry point; bundled with @oclif/core by scripts/bundle.mjs (see there for why). */
export {execute} from '@oclif/core'
