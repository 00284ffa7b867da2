import {z} from 'zod'

import {PaperFormat} from './common.js'

/**
 * A paper's text as the paper cache keeps it (media/paper-cache.ts): everything `readPaper`
 * derives from the file's bytes, so that a file read once is never extracted again. The
 * path is not part of it: the same bytes under another name are the same paper.
 */
export const CachedPaperText = z.object({
  format: PaperFormat,
  /** Pages of a PDF; for other formats the estimate from estimate_words. */
  pages: z.number().int().positive(),
  /** Words of the body. */
  words: z.number().int().positive(),
  /** All words of a paper without pages, references included, which its page estimate comes from; null for a PDF. */
  estimate_words: z.number().int().positive().nullable(),
  /** guessTitle of the body. */
  title: z.string(),
  /** What the reading's early title was (the first page's heading for a PDF): the transcription's spelling hint. */
  early_title: z.string(),
  body: z.string().min(1),
  references: z.string(),
})
export type CachedPaperText = z.infer<typeof CachedPaperText>
