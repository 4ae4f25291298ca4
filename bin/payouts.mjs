#!/usr/bin/env node
// Launcher for the payouts CLI (cli/payouts.ts): compiles TypeScript on the fly with tsx.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../cli/payouts.ts');
await runCli();
