// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const MONEY = 'Money is never a JS number: use Decimal (shared/domain/money.ts).';
/** Amounts are decimal strings or exact values, never JS numbers. */
const MONEY_NAME = '/(amount|fee|feepercentage|balance)s?$/i';

const CLASSIC_ZOD = {
  name: 'zod',
  message: "Classic zod adds ~400 KiB per bundle: use `import * as z from 'zod/mini'`.",
};

const deployedCodeRules = {
  rules: {
    'no-restricted-syntax': [
      'error',
      {
        selector: `TSPropertySignature[key.name=${MONEY_NAME}] > TSTypeAnnotation > TSNumberKeyword`,
        message: MONEY,
      },
      {
        selector: `Identifier[name=${MONEY_NAME}] > TSTypeAnnotation > TSNumberKeyword`,
        message: MONEY,
      },
      {
        selector: "CallExpression[callee.name='parseFloat']",
        message: 'parseFloat loses precision: parse decimals with shared/domain/money.ts.',
      },
      {
        selector: "CallExpression[callee.property.name='toFixed']",
        message: 'toFixed works on floats: format decimals with shared/domain/money.ts.',
      },
      {
        // `import { z }` pulls zod's whole namespace (every locale, JSON Schema) into each bundle.
        selector: "ImportDeclaration[source.value='zod/mini'] > ImportSpecifier[imported.name='z']",
        message: "Use `import * as z from 'zod/mini'` so the bundle tree-shakes.",
      },
    ],
    'no-restricted-imports': ['error', { paths: [CLASSIC_ZOD] }],
  },
};

/** The use cases and the domain speak in their own errors; HTTP belongs to the edge. */
const httpFreeRules = {
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: [CLASSIC_ZOD],
        patterns: [
          {
            group: ['**/http/*'],
            message:
              'Use cases throw their own errors (shared/payouts/errors.ts); shared/http maps them.',
          },
        ],
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
  { files: ['shared/**/*.ts', 'functions/**/*.ts', 'infra/**/*.ts'], ...deployedCodeRules },
  { files: ['shared/payouts/**/*.ts', 'shared/domain/**/*.ts'], ...httpFreeRules },
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
