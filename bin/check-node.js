// The first thing the `clawmesh` command runs: is this Node new enough?
// Plain JavaScript without newer syntax (no `?.`, no `??`), so that an old Node
// parses it and the person gets one line saying what to do, not a stack trace
// (`ERR_UNKNOWN_FILE_EXTENSION` from a checkout, `Promise.withResolvers is not a
// function` from a package).
import { readFileSync } from 'node:fs'

/** Node's type stripping (what runs src/*.ts from a checkout) is on by default from these releases on. */
const TYPE_STRIPPING = { 22: [22, 18, 0], 23: [23, 6, 0] }

function parse (version) {
  const parts = String(version).replace(/^v/, '').split('.').map(function (n) { return Number.parseInt(n, 10) || 0 })
  while (parts.length < 3) parts.push(0)
  return parts.slice(0, 3)
}

function atLeast (have, need) {
  for (let i = 0; i < 3; i++) {
    if (have[i] !== need[i]) return have[i] > need[i]
  }
  return true
}

function format (v) {
  return v[2] === 0 ? (v[1] === 0 ? String(v[0]) : v[0] + '.' + v[1]) : v.join('.')
}

/** The lowest Node the package claims: `engines.node` of package.json (`>=X[.Y[.Z]]`). */
export function minimumNode (packageJsonUrl) {
  try {
    const range = JSON.parse(readFileSync(packageJsonUrl, 'utf8')).engines.node
    const m = /^\s*>=\s*v?(\d+(?:\.\d+){0,2})\s*$/.exec(range)
    if (m !== null) return parse(m[1])
  } catch {
    // No readable package.json: fall back to what libp2p needs.
  }
  return [22, 0, 0]
}

/**
 * Why this Node cannot run clawmesh, in one line for a person, or undefined when it can.
 * `fromSource`: the command runs the TypeScript sources of a checkout (it needs type stripping).
 */
export function nodeProblem (options) {
  const version = parse(options.version)
  const minimum = options.minimum
  const where = options.execPath ? ' (' + options.execPath + ')' : ''
  if (options.fromSource) {
    const strip = TYPE_STRIPPING[version[0]]
    const tooOld = !atLeast(version, minimum) || (strip !== undefined && !atLeast(version, strip)) || version[0] < 22
    if (!tooOld && options.typescript) return undefined
    const need = atLeast(minimum, [22, 18, 0]) ? minimum : [22, 18, 0]
    const cause = tooOld ? '' : ' with type stripping on (it is off here)'
    return 'clawmesh needs Node.js ' + format(need) + ' or newer' + cause + ' to run from a checkout; this is Node.js ' + format(version) + where +
      '. Run `. scripts/ensure-node.sh` (it puts Node 24 first on PATH) and try again.'
  }
  if (atLeast(version, minimum)) return undefined
  return 'clawmesh needs Node.js ' + format(minimum) + ' or newer; this is Node.js ' + format(version) + where +
    '. Install a current Node.js (https://nodejs.org, or `nvm install 24`) and try again.'
}

/** Exits with code 1 and one line on stderr when this Node cannot run clawmesh. */
export function requireNode (fromSource) {
  const problem = nodeProblem({
    version: process.versions.node,
    typescript: Boolean(process.features && process.features.typescript),
    fromSource: fromSource,
    minimum: minimumNode(new URL('../package.json', import.meta.url)),
    execPath: process.execPath
  })
  if (problem === undefined) return
  process.stderr.write(problem + '\n')
  process.exit(1)
}
