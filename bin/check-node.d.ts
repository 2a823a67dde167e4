/** Types of ./check-node.js (plain JavaScript, so that any Node parses it). */
export interface NodeCheckOptions {
  /** `process.versions.node`. */
  version: string
  /** `process.features.typescript`: truthy when Node strips types. */
  typescript?: unknown
  /** The command runs the TypeScript sources of a checkout. */
  fromSource: boolean
  /** The lowest version claimed, `[major, minor, patch]`. */
  minimum: number[]
  execPath?: string
}
export function minimumNode (packageJsonUrl: URL | string): number[]
export function nodeProblem (options: NodeCheckOptions): string | undefined
export function requireNode (fromSource: boolean): void
