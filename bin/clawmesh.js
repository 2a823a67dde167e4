#!/usr/bin/env node
// The `clawmesh` command. For now it runs the TypeScript source directly with
// Node's type stripping (Node >= 22.18 / 24); once `npm run build` output is
// published this shim will import ../dist/cli/main.js instead.
/* global process */
import { ignoreBrokenPipe, main } from '../src/cli/main.ts'

ignoreBrokenPipe()
process.exitCode = await main()
