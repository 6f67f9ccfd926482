// ESLint: typescript-eslint's type-aware rules over every TypeScript file (src, test, bench,
// scripts), with the types tsconfig.json gives. `npm run lint`; .ci/run fails on any error.
//
// recommendedTypeChecked, not strictTypeChecked: the recommended set holds the rules that find
// bugs (floating promises, unsafe `any`, misused promises, awaiting non-promises); the strict set
// adds opinions this code does not share and that would rewrite it without finding bugs:
// no-non-null-assertion and no-unnecessary-condition against the deliberate `!` and checks that
// noUncheckedIndexedAccess asks for, restrict-template-expressions against numbers in messages.
//
// A rule is turned off or changed here only with its reason beside it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'tools/', 'coverage/', '.tap/', 'test-output/', 'bench/results/', 'real/', '.data/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // tap's t.test() returns a promise tap itself awaits, in order, before the parent ends:
          // subtests are meant to be started without `await`.
          allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }],
        },
      ],
      // `_name` marks a parameter or binding kept on purpose (a callback's signature, a rest
      // sibling that drops a key).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read HTTP response bodies, fixtures and API answers as `any` on purpose: the
      // assertions (t.match, t.same, t.equal) check their shape at run time, which is the test.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Subtest callbacks and stand-in handlers are `async` to match the signature tap and the
      // stand-in servers expect, whether or not this one awaits anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JavaScript outside tsconfig.json, so no type information: this file, and the loader
    // hooks Node loads with --import before any TypeScript loader exists (test/support/*.mjs).
    files: ['eslint.config.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
