/** This package's version (from package.json, one level above both `src/` and `dist/`), shown to peers in the registry hello. */
import { createRequire } from 'node:module'

export const SOFTWARE_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version
