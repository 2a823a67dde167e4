/** The fields of `from` named in `keys` that are set: optional options passed on without writing `undefined` (exactOptionalPropertyTypes). */
export function pick<T extends object, K extends keyof T> (from: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {}
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key]
  return out
}
