// The options mechanism: every spelling, defaults, required options, unknown and duplicate options, each kind of
// value with its error message, nested specs, spec clashes, and the docs rows.
import { describe, expect, test } from "bun:test";
import { RivuletConfigError } from "../../client/errors.ts";
import {
  booleanOption,
  customOption,
  defineOptions,
  describeOptions,
  enumOption,
  integerOption,
  nestedOption,
  type OptionsInput,
  resolveOptions,
  stringListOption,
  stringOption,
} from "../../client/options.ts";

const SPEC = defineOptions({
  batchSize: integerOption({ kafka: "batch.size", default: 16384, min: 0, max: 1 << 30, description: "Batch bytes." }),
  acks: enumOption([-1, 0, 1], { kafka: "acks", default: -1, mapping: { all: -1, "-1": -1, "0": 0, "1": 1 }, description: "Acks." }),
  compressionType: enumOption(["none", "gzip", "lz4", "zstd"], { kafka: "compression.type", aliases: ["compression"], default: "none", description: "Codec." }),
  idempotence: booleanOption({ kafka: "enable.idempotence", aliases: ["idempotent"], default: true, description: "Idempotence." }),
  clientId: stringOption({ kafka: "client.id", default: "rivulet", maxLength: 10, description: "Id." }),
  brokers: stringListOption({ kafka: "bootstrap.servers", default: ["a:1"], minItems: 1, item: (item) => (item.includes(":") ? null : "has no port"), description: "Brokers." }),
  partitioner: customOption<((key: Uint8Array) => number) | null>({
    default: null,
    accepts: "function",
    parse: (value) => (typeof value === "function" ? { ok: true, value: value as (key: Uint8Array) => number } : { ok: false, error: "must be a function" }),
    description: "Partitioner.",
  }),
  retry: nestedOption(
    defineOptions({ retries: integerOption({ kafka: "retries", default: 5, min: 0, description: "Retries." }) }),
    { description: "Retry." },
  ),
});

const REQUIRED = defineOptions({ groupId: stringOption({ kafka: "group.id", minLength: 1, description: "Group." }) });

function configError(run: () => unknown): RivuletConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof RivuletConfigError) return error;
    throw error;
  }
  throw new Error("expected a RivuletConfigError");
}

describe("resolveOptions", () => {
  test("defaults fill every option; the result is frozen", () => {
    const options = resolveOptions(SPEC, undefined, "test options");
    expect(options).toEqual({ batchSize: 16384, acks: -1, compressionType: "none", idempotence: true, clientId: "rivulet", brokers: ["a:1"], partitioner: null, retry: { retries: 5 } });
    expect(Object.isFrozen(options)).toBe(true);
  });

  test("camelCase, Kafka names and aliases all resolve to the camelCase key", () => {
    expect(resolveOptions(SPEC, { batchSize: 1 }, "t").batchSize).toBe(1);
    expect(resolveOptions(SPEC, { "batch.size": 2 }, "t").batchSize).toBe(2);
    expect(resolveOptions(SPEC, { compression: "lz4" }, "t").compressionType).toBe("lz4");
    expect(resolveOptions(SPEC, { "compression.type": "zstd" }, "t").compressionType).toBe("zstd");
    expect(resolveOptions(SPEC, { idempotent: false }, "t").idempotence).toBe(false);
    expect(resolveOptions(SPEC, { retry: { retries: 0 } }, "t").retry).toEqual({ retries: 0 });
  });

  test("properties-file forms: numeric and boolean strings, comma lists, enum mappings", () => {
    const options = resolveOptions(SPEC, { "batch.size": " 32768 ", "enable.idempotence": "false", "bootstrap.servers": "a:1, b:2", acks: "all" }, "t");
    expect(options.batchSize).toBe(32768);
    expect(options.idempotence).toBe(false);
    expect(options.brokers).toEqual(["a:1", "b:2"]);
    expect(options.acks).toBe(-1);
    expect(resolveOptions(SPEC, { acks: "1" }, "t").acks).toBe(1);
    expect(resolveOptions(SPEC, { acks: 0 }, "t").acks).toBe(0);
  });

  test("undefined values count as not given", () => {
    expect(resolveOptions(SPEC, { batchSize: undefined, "batch.size": 5 }, "t").batchSize).toBe(5);
  });

  test("unknown options are refused, with a suggestion for a near miss", () => {
    const error = configError(() => resolveOptions(SPEC, { batchsize: 1 }, "producer options"));
    expect(error.message).toBe('unknown option "batchsize" in producer options (did you mean "batchSize"?)');
    expect(error.option).toBe("batchsize");
    expect(configError(() => resolveOptions(SPEC, { "linger.mss": 1 }, "t")).message).toBe('unknown option "linger.mss" in t');
    expect(configError(() => resolveOptions(SPEC, { "batch.sise": 1 }, "t")).message).toContain('did you mean "batch.size"');
  });

  test("two spellings of one option are refused", () => {
    const error = configError(() => resolveOptions(SPEC, { batchSize: 1, "batch.size": 2 }, "t"));
    expect(error.message).toContain("same option");
    expect(configError(() => resolveOptions(SPEC, { compression: "lz4", compressionType: "lz4" }, "t")).message).toContain("same option");
  });

  test("bad values name the option as spelled and say what is accepted", () => {
    expect(configError(() => resolveOptions(SPEC, { "batch.size": -1 }, "producer options")).message).toBe('option "batch.size" in producer options must be integer from 0 to 1073741824, got -1');
    expect(configError(() => resolveOptions(SPEC, { batchSize: 1.5 }, "t")).message).toContain("must be an integer, got 1.5");
    expect(configError(() => resolveOptions(SPEC, { batchSize: "12abc" }, "t")).message).toContain('must be an integer, got "12abc"');
    expect(configError(() => resolveOptions(SPEC, { batchSize: 2 ** 60 }, "t")).message).toContain("must be an integer");
    expect(configError(() => resolveOptions(SPEC, { acks: "some" }, "t")).message).toContain('must be one of -1, 0, 1, "all"');
    expect(configError(() => resolveOptions(SPEC, { compression: "snappy" }, "t")).message).toContain('option "compression" in t must be one of "none", "gzip", "lz4", "zstd"');
    expect(configError(() => resolveOptions(SPEC, { idempotent: 1 }, "t")).message).toContain("must be true or false, got 1");
    expect(configError(() => resolveOptions(SPEC, { clientId: 5 }, "t")).message).toContain("must be a string, got 5");
    expect(configError(() => resolveOptions(SPEC, { clientId: "x".repeat(11) }, "t")).message).toContain("at most 10 characters");
    expect(configError(() => resolveOptions(SPEC, { brokers: [] }, "t")).message).toContain("at least 1 item");
    expect(configError(() => resolveOptions(SPEC, { brokers: ["nohost"] }, "t")).message).toContain('"nohost" has no port');
    expect(configError(() => resolveOptions(SPEC, { brokers: [1] }, "t")).message).toContain("list of strings");
    expect(configError(() => resolveOptions(SPEC, { partitioner: "murmur" }, "t")).message).toContain("must be a function");
    expect(configError(() => resolveOptions(SPEC, { retry: { retries: -1 } }, "t")).message).toContain('option "retry" in t is invalid: option "retries"');
    expect(configError(() => resolveOptions(SPEC, { retry: 3 }, "t")).message).toContain("must be an object");
  });

  test("the options object itself must be an object", () => {
    expect(configError(() => resolveOptions(SPEC, "batch.size=1", "t")).message).toBe('t must be an object, got "batch.size=1"');
    expect(configError(() => resolveOptions(SPEC, [1], "t")).message).toContain("must be an object");
  });

  test("a required option without a default must be given", () => {
    expect(configError(() => resolveOptions(REQUIRED, {}, "consumer options")).message).toBe('option "group.id" is required in consumer options');
    expect(resolveOptions(REQUIRED, { groupId: "g" }, "t").groupId).toBe("g");
    expect(configError(() => resolveOptions(REQUIRED, { "group.id": "" }, "t")).message).toContain("at least 1 characters");
  });

  test("a spec whose options share a spelling is a bug found at definition", () => {
    expect(() =>
      defineOptions({
        a: integerOption({ kafka: "x.y", description: "A." }),
        b: integerOption({ aliases: ["x.y"], description: "B." }),
      }),
    ).toThrow(/declared by both a and b/);
  });

  test("describeOptions gives one docs row per option", () => {
    const rows = describeOptions(SPEC);
    expect(rows.map((row) => row.name)).toEqual(Object.keys(SPEC));
    expect(rows[0]).toEqual({ name: "batchSize", kafka: "batch.size", aliases: [], accepts: "integer from 0 to 1073741824", default: "16384", description: "Batch bytes." });
    expect(rows.find((row) => row.name === "compressionType")?.aliases).toEqual(["compression"]);
    expect(describeOptions(REQUIRED)[0]?.default).toBe("(required)");
  });

  test("the input type accepts every declared spelling (checked by tsc: npm run typecheck)", () => {
    const input: OptionsInput<typeof SPEC> = { "batch.size": 1, compression: "lz4", acks: "all", "enable.idempotence": "true", retry: { retries: 1 } };
    // @ts-expect-error an undeclared spelling is a type error as well as a run-time one
    const wrong: OptionsInput<typeof SPEC> = { batchsize: 1 };
    // @ts-expect-error a value outside the enum
    const badValue: OptionsInput<typeof SPEC> = { compression: "snappy" };
    expect(resolveOptions(SPEC, input, "t").compressionType).toBe("lz4");
    expect(() => resolveOptions(SPEC, wrong, "t")).toThrow(RivuletConfigError);
    expect(() => resolveOptions(SPEC, badValue, "t")).toThrow(RivuletConfigError);
  });
});
