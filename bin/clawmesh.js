#!/usr/bin/env node
// The `clawmesh` command: a shim that loads the CLI entry.
// From a checkout it runs the TypeScript source directly with Node's type
// stripping (Node >= 22.18 / 24). The published package ships no sources, and
// Node refuses to strip types under node_modules, so an installed package runs
// the compiled `dist/` (built by `npm pack` / `npm publish`, see "prepack").
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { requireNode } from './check-node.js'

const source = new URL('../src/cli/main.ts', import.meta.url)
const installed = fileURLToPath(import.meta.url).split(/[\\/]/).includes('node_modules') || !existsSync(source)
// A Node too old for clawmesh gets one line on what to do, not a stack trace.
requireNode(!installed)
const { ignoreBrokenPipe, main } = await import(installed ? '../dist/cli/main.js' : source.href)

ignoreBrokenPipe()
process.exitCode = await main()
