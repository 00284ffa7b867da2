// One lint configuration for every TypeScript and JavaScript file; formatting is Prettier's
// (eslint-config-prettier turns off the rules that would disagree with it).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'artifacts/', 'test-output/', 'coverage/', 'oclif.manifest.json']},
  js.configs.recommended,
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {globals: {...globals.node}},
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname},
      globals: {...globals.node},
    },
    rules: {
      // A leading underscore marks what is left unused on purpose (a destructured field dropped, an interface's argument).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_'},
      ],
      // Providers and fakes implement async interfaces with synchronous bodies; `async` keeps their errors rejections.
      '@typescript-eslint/require-await': 'off',
    },
  },
  prettier,
)
