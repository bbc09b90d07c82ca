// ESLint for every package: `npm run lint`, and tests/unit/lint.test.ts in npm test. Layout is Prettier's
// (prettier.config.js); eslint-config-prettier, last, turns off every rule that would fight it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import lit from 'eslint-plugin-lit';
import wc from 'eslint-plugin-wc';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['**/node_modules/', '**/dist/', 'web/build/', 'var/', 'backups/']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // Each file is checked with the types of the tsconfig.json of its own package.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Fastify plugins and hooks are async by Fastify's contract, and fakes in tests implement async
      // interfaces: an async function without an await is deliberate here.
      '@typescript-eslint/require-await': 'off',
      // String(x) is written on purpose, for messages, on loosely typed values decoded from the wire
      // (bencode, YAML, JSON log lines); an object in a template literal is still caught by
      // restrict-template-expressions.
      '@typescript-eslint/no-base-to-string': 'off',
      // A caught error (unknown) is handed on to reject() as it was caught.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Lists in messages are meant to print as "a,b".
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowArray: true }],
      // Deskline declares no enums; JsSIP types its string constants (originator, cause) as enums while
      // documenting them as strings, and the softphone compares them to strings.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Every rethrow here puts the caught error's message into its own, in words for whoever reads it.
      'preserve-caught-error': 'off',
      // Control characters appear in regexes only as explicit \x escapes, on purpose (ANSI colours, the
      // characters SIP forbids).
      'no-control-regex': 'off',
      // A variable that a callback reads is declared before it, and assigned once the callback is set up.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        // A leading underscore names what is left out on purpose: a rest sibling's omitted field, or a
        // parameter a callback's signature imposes.
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['web/src/**/*.ts'],
    extends: [lit.configs['flat/recommended'], wc.configs['flat/best-practice']],
    languageOptions: { globals: globals.browser },
    rules: {
      // LitElement implements every lifecycle callback, so a super call needs no guard.
      'wc/guard-super-call': 'off',
      'lit/lifecycle-super': 'error',
      'lit/no-classfield-shadowing': 'error',
      'lit/no-invalid-escape-sequences': 'error',
      'lit/no-legacy-imports': 'error',
      'lit/no-native-attributes': 'error',
      'lit/no-template-bind': 'error',
      'lit/no-useless-template-literals': 'error',
      'lit/no-value-attribute': 'error',
      'lit/prefer-nothing': 'error',
      'lit/prefer-static-styles': 'error',
    },
  },
  {
    // Tests patch a prototype's method, or hand a fake's handler on, and call it with its `this`.
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
  {
    // Code that runs inside the test page (page.evaluate): JsSIP there is the page's untyped script-tag
    // global, and a call predicate crosses into the page as source text, compiled there.
    files: ['tests/helpers/browser-phone.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-implied-eval': 'off',
    },
  },
  prettier,
);
