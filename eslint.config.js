// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Amounts are decimal strings or exact values, never JS numbers. */
const MONEY_NAME = '/(amount|fee|feepercentage|balance)s?$/i';
const moneyRules = {
  rules: {
    'no-restricted-syntax': [
      'error',
      {
        selector: `TSPropertySignature[key.name=${MONEY_NAME}] > TSTypeAnnotation > TSNumberKeyword`,
        message: 'Money is never a JS number: use Decimal (shared/domain/money.ts).',
      },
      {
        selector: `Identifier[name=${MONEY_NAME}] > TSTypeAnnotation > TSNumberKeyword`,
        message: 'Money is never a JS number: use Decimal (shared/domain/money.ts).',
      },
      {
        selector: "CallExpression[callee.name='parseFloat']",
        message: 'parseFloat loses precision: parse decimals with shared/domain/money.ts.',
      },
      {
        selector: "CallExpression[callee.property.name='toFixed']",
        message: 'toFixed works on floats: format decimals with shared/domain/money.ts.',
      },
    ],
  },
};

export default tseslint.config(
  {
    ignores: ['node_modules/', 'cdk.out/', 'dist/', 'coverage/', '.local-data/', '.test-results/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['shared/**/*.ts', 'functions/**/*.ts', 'infra/**/*.ts'], ...moneyRules },
  {
    // Deployed code: zod/mini as a namespace import, which esbuild tree-shakes. `import { z }`
    // re-exports the whole namespace (every locale, JSON Schema) into each bundle.
    files: ['shared/**/*.ts', 'functions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'zod',
              message: "Use `import * as z from 'zod/mini'` (classic zod is ~400 KiB per bundle).",
            },
            {
              name: 'zod/mini',
              importNames: ['z'],
              message: "Use `import * as z from 'zod/mini'` so the bundle tree-shakes.",
            },
          ],
        },
      ],
    },
  },
  // Tests read parsed JSON responses loosely.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false },
      globals: { process: 'readonly', console: 'readonly' },
    },
  },
);
