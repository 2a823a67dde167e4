/**
 * Small parsers for the plugin's config (`plugins.entries.clawmesh.config`):
 * each checks one value the way the manifest's JSON Schema describes it and
 * names the offending path in its error. OpenClaw validates the config against
 * the manifest before the plugin sees it; these run again in the plugin (a
 * config edited while the Gateway runs, `clawmesh doctor` reading it offline)
 * and give the values their types. test/openclaw/config-schema.test.ts checks
 * that both accept and refuse the same values.
 *
 * Kept here rather than a JSON Schema validator at run time: the plugin would
 * carry a validator and a schema compiler for a dozen fields, and still need
 * these typed conversions.
 */

/** Parses one config value found at `path`; throws a `TypeError` naming the path when it does not fit. */
export type Parse<T> = (value: unknown, path: string) => T

export function fail (path: string, what: string): never {
  throw new TypeError(`clawmesh config: ${path} must be ${what}`)
}

export const nonEmptyString: Parse<string> = (v, path) => typeof v === 'string' && v !== '' ? v : fail(path, 'a non-empty string')

export const boolean: Parse<boolean> = (v, path) => typeof v === 'boolean' ? v : fail(path, 'true or false')

export function integer (min: number, max = Number.MAX_SAFE_INTEGER): Parse<number> {
  return (v, path) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(path, `an integer from ${min} to ${max}`)
}

export function number (min: number, max: number): Parse<number> {
  return (v, path) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fail(path, `a number from ${min} to ${max}`)
}

export function literal<T extends string | boolean> (...values: T[]): Parse<T> {
  return (v, path) => values.includes(v as T) ? v as T : fail(path, `one of ${values.map(x => JSON.stringify(x)).join(', ')}`)
}

export function list<T> (item: Parse<T>): Parse<T[]> {
  return (v, path) => Array.isArray(v) ? v.map((x, i) => item(x, `${path}[${i}]`)) : fail(path, 'a list')
}

/** The first alternative that accepts the value (JSON Schema `anyOf`). */
export function either<A, B> (a: Parse<A>, b: Parse<B>, what: string): Parse<A | B> {
  return (v, path) => {
    try {
      return a(v, path)
    } catch {
      try {
        return b(v, path)
      } catch {
        return fail(path, what)
      }
    }
  }
}

/** One parser per field; `required` names the fields that must be present. */
export type Fields<T> = { [K in keyof T]-?: Parse<Exclude<T[K], undefined>> }

/** A plain object with these fields only (JSON Schema `additionalProperties: false`); absent fields stay absent. `path` '' is the config itself. */
export function object<T extends object> (fields: Fields<T>, required: Array<keyof T> = []): Parse<T> {
  return (v, path) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(path, 'an object')
    const input = v as Record<string, unknown>
    const out: Record<string, unknown> = {}
    const at = (key: string): string => path === '' ? key : `${path}.${key}`
    for (const key of Object.keys(input)) {
      if (!Object.hasOwn(fields, key)) throw new TypeError(`clawmesh config: unknown option ${at(key)}`)
    }
    for (const key of Object.keys(fields) as Array<keyof T & string>) {
      const value = input[key]
      if (value === undefined) {
        if (required.includes(key)) fail(at(key), 'given')
        continue
      }
      out[key] = (fields[key] as Parse<unknown>)(value, at(key))
    }
    return out as T
  }
}
