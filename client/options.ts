// One mechanism for every options object of the SDK (client, producer, consumer, admin). A spec maps each
// option's camelCase name (the key of the resolved object) to a definition: its Kafka dotted name, any extra
// aliases, a default and a parser that checks the value. resolveOptions() accepts any of those spellings, rejects
// unknown options, two spellings of one option, and bad values with a RivuletConfigError naming the option as the
// caller spelled it, and returns a frozen, typed camelCase object. Validation happens once, up front, so nothing
// downstream re-checks a value.
//
//   const PRODUCER_OPTIONS = defineOptions({
//     batchSize: integerOption({ kafka: "batch.size", default: 16384, min: 0, description: "..." }),
//     compressionType: enumOption(["none", "gzip", "lz4", "zstd"], { kafka: "compression.type", aliases: ["compression"], default: "none", description: "..." }),
//   });
//   const options = resolveOptions(PRODUCER_OPTIONS, input, "producer");   // options.batchSize: number
import { RivuletConfigError } from "./errors.ts";

/** What a parser says about one value: the resolved value, or why it is wrong ("must be ..."). */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** One option: how to spell it, its default and how to check a value. */
export interface OptionDefinition<T, In = T, Kafka extends string = string, Alias extends string = string> {
  /** Kafka's dotted name ("batch.size"), or null when Kafka has none (e.g. "brokers"). */
  readonly kafka: Kafka | null;
  /** Further accepted spellings ("compression" for "compression.type"). */
  readonly aliases: readonly Alias[];
  /** The value when the option is not given; undefined makes the option required. */
  readonly default: T | undefined;
  /** One sentence for docs. */
  readonly description: string;
  /** Human form of the accepted values, for docs and messages ("integer >= 0"). */
  readonly accepts: string;
  /** Checks and converts a given value. */
  parse(value: unknown): ParseResult<T>;
  /** Phantom marker of the input type (never set). */
  readonly __input?: In;
}

/** A set of option definitions keyed by camelCase name. */
export type OptionsSpec = Record<string, OptionDefinition<unknown, unknown, string, string>>;

/** The resolved object of a spec: camelCase keys, parsed values. */
export type ResolvedOptions<S extends OptionsSpec> = {
  readonly [K in keyof S]: S[K] extends OptionDefinition<infer T, any, any, any> ? T : never;
};

type InputOf<D> = D extends OptionDefinition<any, infer In, any, any> ? In : never;
// Kafka names and aliases of an option as literal types (a plain `string` means "unknown" and adds no key).
type SpellingsOf<D> = D extends OptionDefinition<any, any, infer K, infer A> ? Literal<K> | Literal<A> : never;
type Literal<T> = T extends string ? (string extends T ? never : T) : never;

/** What a caller may pass for a spec: camelCase names, Kafka's dotted names or declared aliases. */
export type OptionsInput<S extends OptionsSpec> = { [K in keyof S]?: InputOf<S[K]> } & {
  [K in keyof S as SpellingsOf<S[K]>]?: InputOf<S[K]>;
};

interface CommonOptionFields<T, Kafka extends string, Alias extends string = never> {
  kafka?: Kafka | null;
  aliases?: readonly Alias[];
  default?: T;
  description: string;
}

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });
const pass = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function definition<T, In, Kafka extends string, Alias extends string>(
  fields: CommonOptionFields<T, Kafka, Alias>,
  accepts: string,
  parse: (value: unknown) => ParseResult<T>,
): OptionDefinition<T, In, Kafka, Alias> {
  return {
    kafka: fields.kafka ?? null,
    aliases: fields.aliases ?? [],
    default: fields.default,
    description: fields.description,
    accepts,
    parse,
  };
}

/** An integer option; numeric strings ("16384") are accepted too, as in a Kafka properties file. */
export function integerOption<const Kafka extends string = never, const Alias extends string = never>(
  fields: CommonOptionFields<number, Kafka, Alias> & { min?: number; max?: number },
): OptionDefinition<number, number | string, Kafka, Alias> {
  const min = fields.min ?? Number.MIN_SAFE_INTEGER;
  const max = fields.max ?? Number.MAX_SAFE_INTEGER;
  const accepts = fields.max === undefined ? `integer >= ${min}` : `integer from ${min} to ${max}`;
  return definition(fields, accepts, (value) => {
    const number = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
    if (typeof number !== "number" || !Number.isSafeInteger(number)) return fail(`must be an integer, got ${show(value)}`);
    if (number < min || number > max) return fail(`must be ${accepts}, got ${number}`);
    return pass(number);
  });
}

/** A boolean option; "true" and "false" are accepted too. */
export function booleanOption<const Kafka extends string = never, const Alias extends string = never>(
  fields: CommonOptionFields<boolean, Kafka, Alias>,
): OptionDefinition<boolean, boolean | "true" | "false", Kafka, Alias> {
  return definition(fields, "boolean", (value) => {
    if (value === true || value === "true") return pass(true);
    if (value === false || value === "false") return pass(false);
    return fail(`must be true or false, got ${show(value)}`);
  });
}

/** A string option, optionally bounded in length and shape. */
export function stringOption<const Kafka extends string = never, const Alias extends string = never>(
  fields: CommonOptionFields<string, Kafka, Alias> & { minLength?: number; maxLength?: number; pattern?: RegExp },
): OptionDefinition<string, string, Kafka, Alias> {
  const minLength = fields.minLength ?? 0;
  const maxLength = fields.maxLength ?? Number.MAX_SAFE_INTEGER;
  return definition(fields, "string", (value) => {
    if (typeof value !== "string") return fail(`must be a string, got ${show(value)}`);
    if (value.length < minLength) return fail(`must be at least ${minLength} characters`);
    if (value.length > maxLength) return fail(`must be at most ${maxLength} characters`);
    if (fields.pattern !== undefined && !fields.pattern.test(value)) return fail(`must match ${fields.pattern}, got ${show(value)}`);
    return pass(value);
  });
}

/** One of a fixed set of values; `mapping` lets several inputs mean one value (acks "all" = -1). */
export function enumOption<const V extends string | number, const Kafka extends string = never, const Alias extends string = never, const M extends string = never>(
  values: readonly V[],
  fields: CommonOptionFields<V, Kafka, Alias> & { mapping?: Readonly<Record<M, V>> },
): OptionDefinition<NoInfer<V>, NoInfer<V | M>, Kafka, Alias> {
  // Mapping keys that only spell a value as text ("1" for 1) are accepted but not listed: they add noise.
  const extra = Object.keys(fields.mapping ?? {}).filter((key) => !values.some((value) => String(value) === key));
  const accepted = [...values.map(show), ...extra.map(show)];
  const unique = [...new Set(accepted)];
  return definition(fields, `one of ${unique.join(", ")}`, (value) => {
    if ((values as readonly unknown[]).includes(value)) return pass(value as V);
    if ((typeof value === "string" || typeof value === "number") && fields.mapping !== undefined) {
      const mapping = fields.mapping as Readonly<Record<string, V>>;
      const mapped = Object.prototype.hasOwnProperty.call(mapping, String(value)) ? mapping[String(value)] : undefined;
      if (mapped !== undefined) return pass(mapped);
    }
    return fail(`must be one of ${unique.join(", ")}, got ${show(value)}`);
  });
}

/** A list of strings; a comma-separated string is accepted too (Kafka's list syntax). */
export function stringListOption<const Kafka extends string = never, const Alias extends string = never>(
  fields: CommonOptionFields<readonly string[], Kafka, Alias> & { minItems?: number; maxItems?: number; item?: (item: string) => string | null },
): OptionDefinition<readonly string[], readonly string[] | string, Kafka, Alias> {
  const minItems = fields.minItems ?? 0;
  const maxItems = fields.maxItems ?? 1024;
  return definition(fields, "list of strings", (value) => {
    const list = typeof value === "string" ? value.split(",").map((item) => item.trim()).filter((item) => item !== "") : value;
    if (!Array.isArray(list) || list.some((item) => typeof item !== "string")) return fail(`must be a list of strings, got ${show(value)}`);
    if (list.length < minItems) return fail(`must have at least ${minItems} item(s)`);
    if (list.length > maxItems) return fail(`must have at most ${maxItems} items`);
    for (const item of list as string[]) {
      const problem = fields.item?.(item) ?? null;
      if (problem !== null) return fail(`${show(item)} ${problem}`);
    }
    return pass(Object.freeze([...(list as string[])]));
  });
}

/** An option checked by a custom parser (a function, an object of a given shape). */
export function customOption<T, In = T, const Kafka extends string = never, const Alias extends string = never>(
  fields: CommonOptionFields<T, Kafka, Alias> & { accepts: string; parse: (value: unknown) => ParseResult<T> },
): OptionDefinition<NoInfer<T>, NoInfer<In>, Kafka, Alias> {
  return definition(fields, fields.accepts, fields.parse);
}

/** A nested options object resolved with its own spec (e.g. `retry: { retries, initialRetryTime }`). */
export function nestedOption<S extends OptionsSpec, const Kafka extends string = never, const Alias extends string = never>(
  spec: S,
  fields: { kafka?: Kafka | null; aliases?: readonly Alias[]; description: string },
): OptionDefinition<ResolvedOptions<S>, OptionsInput<S>, Kafka, Alias> {
  return {
    kafka: fields.kafka ?? null,
    aliases: fields.aliases ?? [],
    default: tryResolve(spec, {}),
    description: fields.description,
    accepts: `object with ${Object.keys(spec).join(", ")}`,
    parse(value) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return fail(`must be an object, got ${show(value)}`);
      try {
        return pass(resolveOptions(spec, value, "this object"));
      } catch (error) {
        if (error instanceof RivuletConfigError) return fail(`is invalid: ${error.message}`);
        throw error;
      }
    },
  };
}

function tryResolve<S extends OptionsSpec>(spec: S, input: object): ResolvedOptions<S> | undefined {
  try {
    return resolveOptions(spec, input, "defaults");
  } catch (error) {
    if (error instanceof RivuletConfigError) return undefined;
    throw error;
  }
}

// Spellings of every option of a spec, computed once per spec and checked for clashes (a spec bug).
const SPELLINGS = new WeakMap<OptionsSpec, Map<string, string>>();

function spellingsOf(spec: OptionsSpec): Map<string, string> {
  const known = SPELLINGS.get(spec);
  if (known !== undefined) return known;
  const spellings = new Map<string, string>();
  for (const [key, option] of Object.entries(spec)) {
    for (const spelling of [key, ...(option.kafka === null ? [] : [option.kafka]), ...option.aliases]) {
      const owner = spellings.get(spelling);
      if (owner !== undefined && owner !== key) throw new Error(`option spelling "${spelling}" is declared by both ${owner} and ${key}`);
      spellings.set(spelling, key);
    }
  }
  SPELLINGS.set(spec, spellings);
  return spellings;
}

/** Declares a spec; checks that no two options share a spelling. */
export function defineOptions<S extends OptionsSpec>(spec: S): S {
  spellingsOf(spec);
  return spec;
}

/**
 * Resolves a caller's options object against a spec: every spelling accepted, unknown and duplicate options
 * rejected, values parsed, defaults filled in. `what` names the object in messages ("producer options").
 * Throws RivuletConfigError.
 */
export function resolveOptions<S extends OptionsSpec>(spec: S, input: unknown, what: string): ResolvedOptions<S> {
  const object: object = input === undefined || input === null ? {} : (input as object);
  if (typeof object !== "object" || Array.isArray(object)) throw new RivuletConfigError(`${what} must be an object, got ${show(input)}`);
  const spellings = spellingsOf(spec);
  const given = new Map<string, { spelling: string; value: unknown }>();
  for (const [spelling, value] of Object.entries(object)) {
    if (value === undefined) continue;
    const key = spellings.get(spelling);
    if (key === undefined) {
      const hint = suggest(spelling, spellings);
      throw new RivuletConfigError(`unknown option "${spelling}" in ${what}${hint === null ? "" : ` (did you mean "${hint}"?)`}`, spelling);
    }
    const earlier = given.get(key);
    if (earlier !== undefined) {
      throw new RivuletConfigError(`option "${spelling}" and "${earlier.spelling}" in ${what} are the same option; give it once`, spelling);
    }
    given.set(key, { spelling, value });
  }
  const resolved: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(spec)) {
    const entry = given.get(key);
    if (entry === undefined) {
      if (option.default === undefined) throw new RivuletConfigError(`option "${option.kafka ?? key}" is required in ${what}`, option.kafka ?? key);
      resolved[key] = option.default;
      continue;
    }
    const parsed = option.parse(entry.value);
    if (!parsed.ok) throw new RivuletConfigError(`option "${entry.spelling}" in ${what} ${parsed.error}`, entry.spelling);
    resolved[key] = parsed.value;
  }
  return Object.freeze(resolved) as ResolvedOptions<S>;
}

// The closest known spelling by edit distance, when it is close enough to be a typo.
function suggest(spelling: string, spellings: Map<string, string>): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(spelling.length / 4)) + 1;
  const lower = spelling.toLowerCase();
  for (const candidate of spellings.keys()) {
    if (candidate.toLowerCase() === lower) return candidate;
    const distance = editDistance(lower, candidate.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** One row per option for docs: camelCase name, Kafka name, aliases, accepted values, default, description. */
export function describeOptions(spec: OptionsSpec): {
  name: string;
  kafka: string | null;
  aliases: readonly string[];
  accepts: string;
  default: string;
  description: string;
}[] {
  return Object.entries(spec).map(([name, option]) => ({
    name,
    kafka: option.kafka,
    aliases: option.aliases,
    accepts: option.accepts,
    default: option.default === undefined ? "(required)" : show(option.default),
    description: option.description,
  }));
}
