// Wire types: one description of a message drives its decoder (validating untrusted msgpackr output), its
// msgpackr encoder (a plain value tree) and its parts encoder (MsgpackWriter). A struct travels as a msgpack
// array of its fields in order, never as a map: compact, and the order is the schema.
//
// Integers: every int field is range-checked (int8/int16/int32 as Kafka's widths; int64 fields as safe integers,
// |n| <= 2^53 - 1, because offsets and timestamps are JS numbers in Rivulet). On the wire they are msgpack ints in
// their smallest form; a decoder also accepts a float64 holding an exact integer in range, since some msgpack
// encoders write large integers that way.
import { assert } from "../../assert.ts";
import type { FramePart } from "./frame.ts";
import type { MsgpackWriter } from "./msgpack.ts";

/** Returned by a wire type's decoder for a value of the wrong shape. */
export const INVALID: unique symbol = Symbol("invalid");

/** A field that failed to decode: its path, e.g. "topics[0].partitions[2].records". */
export interface DecodeFailure {
  ok: false;
  error: "bad_field";
  field: string;
}

/** A decoded value or the field that was wrong. */
export type DecodeResult<T> = { ok: true; value: T } | DecodeFailure;

/** One wire type: decodes `Out` from untrusted values, encodes from `In` (what a caller may hand in). */
export interface WireType<Out, In = Out> {
  /** Short name for docs and failure paths. */
  readonly describe: string;
  /** Checks and converts a msgpackr-decoded value; INVALID (with the path noted) when it does not fit. */
  decode(value: unknown): Out | typeof INVALID;
  /** A value msgpackr packs as this type. */
  toWire(value: In): unknown;
  /** Writes this type with the parts writer. */
  write(writer: MsgpackWriter, value: In): void;
}

// The path of the last failure, built innermost first while the decoders unwind (cold path only).
let failurePath: string[] = [];

// Starts a new failure path at the innermost value that did not fit.
function invalid(): typeof INVALID {
  failurePath = [];
  return INVALID;
}

/** Decodes `value` as `type`; never throws. */
export function decodeAs<Out>(type: WireType<Out, unknown>, value: unknown): DecodeResult<Out> {
  const decoded = type.decode(value);
  if (decoded === INVALID) {
    const field = failurePath.reverse().join("").replace(/^\./, "");
    failurePath = [];
    return { ok: false, error: "bad_field", field: field === "" ? "(root)" : field };
  }
  return { ok: true, value: decoded };
}

function intType(describe: string, min: number, max: number): WireType<number> {
  return {
    describe,
    decode(value) {
      return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? value : invalid();
    },
    toWire(value) {
      // The message is built only on failure: a template string per field was the encoders' largest cost.
      if (!(Number.isInteger(value) && value >= min && value <= max)) assert(false, `${describe} out of range: ${value}`);
      // msgpackr writes integers beyond 32 bits as float64; a bigint makes it write int64.
      return value > 0xffffffff || value < -0x80000000 ? BigInt(value) : value;
    },
    write(writer, value) {
      if (!(Number.isInteger(value) && value >= min && value <= max)) assert(false, `${describe} out of range: ${value}`);
      writer.int(value);
    },
  };
}

/** Signed 8-bit integer. */
export const int8 = intType("int8", -0x80, 0x7f);
/** Signed 16-bit integer (error codes, acks, epochs). */
export const int16 = intType("int16", -0x8000, 0x7fff);
/** Signed 32-bit integer (partition indexes, counts, milliseconds). */
export const int32 = intType("int32", -0x80000000, 0x7fffffff);
/** Signed 64-bit integer restricted to JS safe integers (offsets, timestamps, producer ids). */
export const int64 = intType("int64", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);

/** Boolean. */
export const boolean: WireType<boolean> = {
  describe: "bool",
  decode: (value) => (typeof value === "boolean" ? value : invalid()),
  toWire: (value) => value,
  write: (writer, value) => writer.bool(value),
};

/** UTF-8 string. */
export const string: WireType<string> = {
  describe: "str",
  decode: (value) => (typeof value === "string" ? value : invalid()),
  toWire: (value) => value,
  write: (writer, value) => writer.str(value),
};

/** Small opaque bytes, copied on encode; decoded as a view into the frame. */
export const bytes: WireType<Uint8Array> = {
  describe: "bin",
  decode: (value) => (value instanceof Uint8Array ? value : invalid()),
  toWire: (value) => value,
  write: (writer, value) => writer.bin(value),
};

/**
 * Record batches (Kafka RecordBatch v2 bytes, concatenated): one msgpack bin. Decoded as a view into the frame;
 * encoded from one buffer or a list of chunks (buffers or file ranges), which the parts writer references
 * without copying. The msgpackr path copies (and can not take file ranges).
 */
export const records: WireType<Uint8Array, Uint8Array | readonly FramePart[]> = {
  describe: "bin (records)",
  decode: (value) => (value instanceof Uint8Array ? value : invalid()),
  toWire(value) {
    if (value instanceof Uint8Array) return value;
    const total = value.reduce((sum, chunk) => {
      assert(chunk instanceof Uint8Array, "file ranges need the parts encoder");
      return sum + chunk.byteLength;
    }, 0);
    const joined = new Uint8Array(total);
    let position = 0;
    for (const chunk of value as readonly Uint8Array[]) {
      joined.set(chunk, position);
      position += chunk.byteLength;
    }
    return joined;
  },
  write: (writer, value) => writer.binParts(value instanceof Uint8Array ? [value] : value),
};

/** `type` or nil. */
export function nullable<Out, In>(type: WireType<Out, In>): WireType<Out | null, In | null> {
  return {
    describe: `${type.describe} | nil`,
    decode: (value) => (value === null ? null : type.decode(value)),
    toWire: (value) => (value === null ? null : type.toWire(value)),
    write: (writer, value) => (value === null ? writer.nil() : type.write(writer, value)),
  };
}

/** A msgpack array of `element`. */
export function array<Out, In>(element: WireType<Out, In>): WireType<Out[], readonly In[]> {
  return {
    describe: `[${element.describe}]`,
    decode(value) {
      if (!Array.isArray(value)) return invalid();
      const out: Out[] = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        const decoded = element.decode(value[i]);
        if (decoded === INVALID) {
          failurePath.push(`[${i}]`);
          return INVALID;
        }
        out[i] = decoded;
      }
      return out;
    },
    toWire: (value) => value.map((item) => element.toWire(item)),
    write(writer, value) {
      writer.arrayHeader(value.length);
      for (const item of value) element.write(writer, item);
    },
  };
}

type AnyWireType = WireType<any, any>;

/** One named field of a struct: [name, type]. */
export type Field = readonly [string, AnyWireType];

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The decoded object type of a struct's fields. */
export type StructOut<F extends readonly Field[]> = Simplify<{
  [E in F[number] as E[0]]: E[1] extends WireType<infer O, any> ? O : never;
}>;

/** The encodable object type of a struct's fields. */
export type StructIn<F extends readonly Field[]> = Simplify<{
  [E in F[number] as E[0]]: E[1] extends WireType<any, infer I> ? I : never;
}>;

/** What a wire type decodes to. */
export type Decoded<T> = T extends WireType<infer O, any> ? O : never;
/** What a wire type encodes from. */
export type Encodable<T> = T extends WireType<any, infer I> ? I : never;

// HOT PATH (bench/protocol.bench.ts, "decode checked"): a struct decoder is compiled once per schema so that each
// decoded object is built by one object literal (one fixed shape, known to the JIT) instead of key by key. Only
// field names from this codebase's schemas reach the generated source, quoted by JSON.stringify; nothing from
// the wire does.
function compileStructDecoder(names: readonly string[], types: readonly AnyWireType[]): (value: unknown) => unknown {
  const lines = [`if (!Array.isArray(value) || value.length !== ${names.length}) return invalid();`];
  names.forEach((name, i) => {
    lines.push(`const v${i} = types[${i}].decode(value[${i}]);`);
    lines.push(`if (v${i} === INVALID) return fail(${JSON.stringify(`.${name}`)});`);
  });
  lines.push(`return { ${names.map((name, i) => `${JSON.stringify(name)}: v${i}`).join(", ")} };`);
  const fail = (segment: string) => {
    failurePath.push(segment);
    return INVALID;
  };
  const factory = new Function("types", "INVALID", "invalid", "fail", `return function decodeStruct(value) {\n${lines.join("\n")}\n};`);
  return factory(types, INVALID, invalid, fail) as (value: unknown) => unknown;
}

// The encoders, compiled the same way: fixed property reads instead of keyed lookups by a name array.
function compileStructToWire(names: readonly string[], types: readonly AnyWireType[]): (value: any) => unknown {
  const items = names.map((name, i) => `types[${i}].toWire(value[${JSON.stringify(name)}])`);
  return new Function("types", `return function structToWire(value) { return [${items.join(", ")}]; };`)(types);
}

function compileStructWrite(names: readonly string[], types: readonly AnyWireType[]): (writer: MsgpackWriter, value: any) => void {
  const lines = [`writer.arrayHeader(${names.length});`, ...names.map((name, i) => `types[${i}].write(writer, value[${JSON.stringify(name)}]);`)];
  return new Function("types", `return function structWrite(writer, value) {\n${lines.join("\n")}\n};`)(types);
}

/** A struct: a msgpack array holding exactly these fields, in order. */
export function struct<const F extends readonly Field[]>(fields: F): WireType<StructOut<F>, StructIn<F>> {
  const names = fields.map(([name]) => name);
  const types = fields.map(([, type]) => type);
  assert(new Set(names).size === names.length, "struct field names must be unique");
  // In an object literal "__proto__" would set the prototype instead of a field.
  assert(!names.includes("__proto__"), "a struct field may not be named __proto__");
  return {
    describe: `[${fields.map(([name, type]) => `${name}: ${type.describe}`).join(", ")}]`,
    decode: compileStructDecoder(names, types) as (value: unknown) => StructOut<F> | typeof INVALID,
    toWire: compileStructToWire(names, types),
    write: compileStructWrite(names, types),
  };
}
