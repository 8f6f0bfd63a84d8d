#!/usr/bin/env node
// The voice-agent CLI without a build step: tsx loads the TypeScript source (src/cli/main.ts).
import { tsImport } from 'tsx/esm/api';

const { main } = await tsImport('../src/cli/main.ts', import.meta.url);
process.exitCode = await main(process.argv.slice(2));
