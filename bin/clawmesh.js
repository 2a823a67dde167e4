#!/usr/bin/env node
// The `clawmesh` command: a shim that loads the CLI entry.
// From a checkout it runs the TypeScript source directly with Node's type
// stripping (Node >= 22.18 / 24). Node refuses to strip types under
// node_modules, so an installed package runs the compiled `dist/` instead
// (`npm run build` before publishing).
import { fileURLToPath } from 'node:url'

const installed = fileURLToPath(import.meta.url).split(/[\\/]/).includes('node_modules')
const { ignoreBrokenPipe, main } = await import(installed ? '../dist/cli/main.js' : '../src/cli/main.ts')

ignoreBrokenPipe()
process.exitCode = await main()
