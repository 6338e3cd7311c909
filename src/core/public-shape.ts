/**
 * The one mapping from ringmaster's TypeScript objects (camelCase) to the
 * public shape that every MCP tool and the CLI's --json print (snake_case):
 * the same field names wherever a user or a script meets an agent.
 */

type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

export type PublicShape<T> = T extends readonly (infer Item)[]
  ? PublicShape<Item>[]
  : T extends Date | Map<unknown, unknown> | Set<unknown>
    ? T
    : T extends object
      ? { [Key in keyof T as Key extends string ? SnakeCase<Key> : Key]: PublicShape<T[Key]> }
      : T;

export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * Renames the keys of plain objects, deeply. Keys that are data rather than
 * field names (a map of environment variables, of model names) are kept when
 * the caller lists the fields that hold them in `verbatim`.
 */
export function toPublic<T>(value: T, verbatim: ReadonlySet<string> = NO_VERBATIM): PublicShape<T> {
  return convert(value, verbatim) as PublicShape<T>;
}

const NO_VERBATIM: ReadonlySet<string> = new Set();

function convert(value: unknown, verbatim: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => convert(item, verbatim));
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[snakeCase(key)] = verbatim.has(key) ? inner : convert(inner, verbatim);
  }
  return out;
}
