/**
 * cold start: each function bundled as the CDK stack bundles it (esbuild: ESM, minified, source
 * maps, every dependency included), its size, and the time a fresh Node process takes to load
 * it (the module is imported, the handler not invoked), against `node -e 0` in the same run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUNDLE_ALIASES, REQUIRE_BANNER } from '../../infra/bundling.js';
import type { BenchOptions } from '../options.js';
import type { Figure } from '../report.js';
import type { BenchContext } from '../stack.js';
import { bytes, median, ms, pairedRatio, ratio } from '../stats.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The deployed runtime (Node.js 24): esbuild's target, as the stack's NodejsFunction sets it. */
const TARGET = 'node24';

interface Bundle {
  name: string;
  file: string;
  size: number;
  mapSize: number;
  /** Minified bytes in the bundle by where they come from (PARTS). */
  parts: Record<Part, number>;
}

/** Where a bundle's bytes come from, in the order the composition table shows them. */
const PARTS = [
  'AWS SDK core',
  'AWS service clients',
  'our code',
  'zod',
  'Powertools',
  'middy',
  'address checks',
  'other',
] as const;
type Part = (typeof PARTS)[number];

/** The part an input file of the bundle belongs to, by its path. */
export function partOf(path: string): Part {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
  if (pkg === undefined)
    return /^(shared|functions|infra|bench)\//.test(path) ? 'our code' : 'other';
  if (pkg.startsWith('@aws-sdk/client-')) return 'AWS service clients';
  if (/^@(aws-sdk|smithy|aws-crypto|aws)\//.test(pkg)) return 'AWS SDK core';
  if (pkg === 'zod') return 'zod';
  if (pkg.startsWith('@aws-lambda-powertools/')) return 'Powertools';
  if (pkg.startsWith('@middy/')) return 'middy';
  if (pkg === '@noble/hashes' || pkg === '@scure/base') return 'address checks';
  return 'other';
}

async function bundle(entry: string, outDir: string): Promise<Bundle> {
  const name = basename(entry, '.ts');
  const file = join(outDir, name, 'index.mjs');
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: TARGET,
    outfile: file,
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    external: [],
    alias: Object.fromEntries(
      Object.entries(BUNDLE_ALIASES).map(([from, to]) => [from, join(ROOT, to)]),
    ),
    logLevel: 'error',
  });
  const parts = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>;
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    parts[partOf(path)] += input.bytesInOutput;
  }
  return { name, file, size: statSync(file).size, mapSize: statSync(`${file}.map`).size, parts };
}

/** Wall time of a fresh `node` process running `args`, in ms. */
function nodeRun(args: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const took = performance.now() - started;
  if (run.status !== 0) {
    throw new Error(`node ${args.join(' ')} failed: ${run.stderr.toString().slice(0, 500)}`);
  }
  return took;
}

/** Bundles of no function: what the shared parts alone cost to load (bench/floors). */
const FLOORS = ['dynamodb-client', 'api-framework'];

export interface ColdStartResult {
  name: string;
  /** A floor (bench/floors), not a deployed function. */
  floor?: boolean;
  size: number;
  mapSize: number;
  parts: Record<Part, number>;
  loadMs: number;
  baselineMs: number;
  ratio: number;
  withMapsMs: number;
  withMapsRatio: number;
}

export async function runColdStart(
  ctx: BenchContext,
  options: BenchOptions['coldStart'],
): Promise<{ figure: Figure; results: ColdStartResult[] }> {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  try {
    const entries = readdirSync(join(ROOT, 'functions'))
      .filter((f) => f.endsWith('.ts'))
      .sort()
      .map((f) => join(ROOT, 'functions', f));
    ctx.progress(`cold start: bundling ${entries.length} functions with esbuild`);
    const bundles: Bundle[] = [];
    for (const entry of entries) bundles.push(await bundle(entry, outDir));
    const floors: Bundle[] = [];
    for (const name of FLOORS) {
      const floor = await bundle(join(ROOT, 'bench', 'floors', `${name}.ts`), outDir);
      floors.push({ ...floor, name: `floor: ${name}` });
    }
    bundles.push(...floors);

    // The process environment a function starts with, minus the benchmark's own settings.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    const baseline: number[] = [];
    const baselineMaps: number[] = [];
    const times = new Map(bundles.map((b) => [b.name, [] as number[]]));
    const mapTimes = new Map(bundles.map((b) => [b.name, [] as number[]]));
    // Warm the file cache and the node binary once.
    nodeRun(['-e', '0'], env);
    for (const b of bundles) nodeRun([b.file], env);
    for (let run = 0; run < options.runs; run++) {
      baseline.push(nodeRun(['-e', '0'], env));
      baselineMaps.push(nodeRun(['--enable-source-maps', '-e', '0'], env));
      for (const b of bundles) {
        times.get(b.name)!.push(nodeRun([b.file], env));
        mapTimes.get(b.name)!.push(nodeRun(['--enable-source-maps', b.file], env));
      }
      ctx.progress(`  run ${run + 1}/${options.runs}: node -e 0 ${ms(baseline.at(-1)!)}`);
    }
    const results: ColdStartResult[] = bundles.map((b) => ({
      name: b.name,
      ...(floors.includes(b) ? { floor: true } : {}),
      size: b.size,
      mapSize: b.mapSize,
      parts: b.parts,
      loadMs: median(times.get(b.name)!),
      baselineMs: median(baseline),
      ratio: pairedRatio(times.get(b.name)!, baseline),
      withMapsMs: median(mapTimes.get(b.name)!),
      withMapsRatio: pairedRatio(mapTimes.get(b.name)!, baselineMaps),
    }));
    const figure: Figure = {
      id: 'cold-start',
      title: 'Cold start: bundle size and load time',
      method: [
        `Each \`functions/*.ts\` bundled with esbuild's API using the stack's options (infra/bundling.ts, infra/constructs/payout-function.ts: the AWS SDK's default credential chain aliased to Lambda's environment credentials, ESM, \`mainFields\` module then main, the \`require\` banner, minified, source maps without sources, no external modules, target ${TARGET}). Two floors, bundled the same way, are no function: \`floor: dynamodb-client\` is the DynamoDB client and one GetItem (bench/floors/dynamodb-client.ts), what any function reading the table loads at least; \`floor: api-framework\` adds what every API handler here is built from (middy, the Powertools logger and metrics, problem+json answers, the configuration checked with zod) and no product code. Load time: a fresh \`node <bundle>/index.mjs\` process (the module and everything it imports is evaluated; the handler is not invoked), wall time from spawn to exit, against \`node -e 0\` measured in the same run. The deployed functions run with \`NODE_OPTIONS=--enable-source-maps\`, measured too (against \`node --enable-source-maps -e 0\`). ${options.runs} runs, this machine's Node ${process.version} (Lambda runs Node 24 on arm64: absolute times differ there, the ratios less so).`,
        `What each bundle is made of, the second table: its minified bytes by the source they come from, from esbuild's metafile. **AWS SDK core** is what every client shares (\`@smithy/*\`, \`@aws-sdk/core\` and the other \`@aws-sdk/*\` helpers: middleware, SigV4 signing, the HTTP handler, retries, serde), **AWS service clients** the \`@aws-sdk/client-*\` packages a function builds (DynamoDB; Lambda to async-invoke, EventBridge, Secrets Manager where used), **our code** \`shared/\` and \`functions/\`, **address checks** the hashing and encodings that validate recipient addresses (\`@noble/hashes\`, \`@scure/base\`); the rest is in **other** (lossless-json, mnemonist and smaller).`,
      ],
      tables: [
        {
          headers: [
            'function',
            'bundle',
            'source map',
            'load (median)',
            'ratio to `node -e 0`',
            'load with source maps',
            'ratio',
          ],
          rows: [
            ...results.map((r) => [
              r.name,
              bytes(r.size),
              bytes(r.mapSize),
              ms(r.loadMs),
              ratio(r.ratio),
              ms(r.withMapsMs),
              ratio(r.withMapsRatio),
            ]),
            [
              '`node -e 0`',
              '',
              '',
              ms(median(baseline)),
              ratio(1),
              ms(median(baselineMaps)),
              ratio(1),
            ],
          ],
        },
        {
          headers: ['function', ...PARTS],
          rows: results.map((r) => [r.name, ...PARTS.map((p) => bytes(r.parts[p]))]),
        },
      ],
      notes: [],
    };
    return { figure, results };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
