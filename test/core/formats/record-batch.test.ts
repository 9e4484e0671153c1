// One contract suite for both kernels of each operation (WASM and TypeScript twin), plus interop with
// @platformatic/kafka's v2 encoder/decoder and the golden fixtures in test/fixtures/record-batch/.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import zlib from "node:zlib";
import { NumericMap, Reader, createRecordsBatch, readRecordsBatch } from "@platformatic/kafka";
import { CODEC_GZIP, CODEC_LZ4, CODEC_NONE, CODEC_SNAPPY, CODEC_ZSTD, compressRecords, isCodecSupported } from "../../../core/formats/codecs.ts";
import { crc32cTs } from "../../../core/formats/crc32c.ts";
import {
  CONTROL_TYPE_ABORT,
  CONTROL_TYPE_COMMIT,
  type DecodedRecordBatch,
  type RecordBatchInput,
  type RecordBatchReadOptions,
  RecordBatchBuilder,
  type RecordInput,
  controlRecord,
  decodeRecordBatch,
  encodeRecordBatch,
  encodeRecordBatchTs,
  openRecordCursor,
  readControlRecord,
  utf8Length,
  validateRecordBatch,
} from "../../../core/formats/record-batch.ts";
import {
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_HEADER_BYTES,
} from "../../../core/formats/record-batch-header.ts";
import { AssertionError } from "../../../core/assert.ts";
import { BATCH_RECORDS_MAX } from "../../../core/limits.ts";
import { FIXTURES, type Fixture } from "../../fixtures/record-batch/fixtures.ts";

const KERNELS = ["wasm", "ts"] as const;
const ENCODERS = [
  ["wasm", encodeRecordBatch],
  ["ts", encodeRecordBatchTs],
] as const;
const COMPRESSED_CODECS = [CODEC_GZIP, CODEC_LZ4, ...(isCodecSupported(CODEC_ZSTD) ? [CODEC_ZSTD] : [])];
const CODEC_NAME = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
const FIXTURE_DIR = join(import.meta.dir, "..", "..", "fixtures", "record-batch");
const utf8 = new TextEncoder();

function bytesOf(text: string): Uint8Array {
  return utf8.encode(text);
}

// Recomputes the CRC of a batch after a deliberate edit, so the record-level checks are reached.
function withCrc(batch: Uint8Array): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset).setUint32(CRC_OFFSET, crc32cTs(batch.subarray(ATTRIBUTES_OFFSET)));
  return batch;
}

// A batch whose records section is `records` as given (uncompressed), with the header fields given.
function rawBatch(records: number[], recordsCount: number, lastOffsetDelta: number, attributes = 0): Uint8Array {
  const batch = encodeRecordBatch({ records: [{ value: null, timestamp: 0 }] }).slice(0, RECORD_BATCH_HEADER_BYTES);
  const out = new Uint8Array(RECORD_BATCH_HEADER_BYTES + records.length);
  out.set(batch);
  out.set(records, RECORD_BATCH_HEADER_BYTES);
  const data = new DataView(out.buffer);
  data.setInt32(LENGTH_OFFSET, out.length - 12);
  data.setInt16(ATTRIBUTES_OFFSET, attributes);
  data.setInt32(LAST_OFFSET_DELTA_OFFSET, lastOffsetDelta);
  data.setInt32(RECORDS_COUNT_OFFSET, recordsCount);
  return withCrc(out);
}

function sampleBatch(): RecordBatchInput {
  return {
    records: [
      { key: "k1", value: bytesOf("v1"), timestamp: 1_700_000_000_000, headers: [{ key: "h", value: "x" }, { key: "n", value: null }] },
      { key: null, value: "keyless", timestamp: 1_700_000_000_500 },
      { key: bytesOf("k1"), value: null, timestamp: 1_699_999_999_000 },
      { key: "", value: "", timestamp: 1_700_000_001_000, headers: [{ key: "ünï", value: bytesOf("✓") }] },
    ],
  };
}

function expectRecordsMatch(decoded: DecodedRecordBatch, input: RecordBatchInput): void {
  expect(decoded.records.length).toBe(input.records.length);
  const baseOffset = input.baseOffset ?? 0;
  input.records.forEach((record, i) => {
    const got = decoded.records[i]!;
    expect(got.offset).toBe(baseOffset + i);
    expect(got.timestamp).toBe(input.logAppendTime ?? record.timestamp);
    const asBytes = (v: Uint8Array | string | null | undefined) => (v === null || v === undefined ? null : typeof v === "string" ? bytesOf(v) : v);
    expect(got.key).toEqual(asBytes(record.key));
    expect(got.value).toEqual(asBytes(record.value));
    expect(got.headers).toEqual((record.headers ?? []).map((h) => ({ key: h.key, value: asBytes(h.value) })));
  });
}

describe("encode (contract: wasm kernel and TS twin)", () => {
  for (const [name, encode] of ENCODERS) {
    test(`${name}: round trip with headers, null keys, tombstones, unicode`, () => {
      const input = sampleBatch();
      const bytes = encode(input);
      for (const kernel of KERNELS) {
        const decoded = decodeRecordBatch(bytes, { kernel });
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect(decoded.value.baseTimestamp).toBe(1_700_000_000_000); // first record's, as MemoryRecordsBuilder
        expect(decoded.value.maxTimestamp).toBe(1_700_000_001_000);
        expect(decoded.value.lastOffsetDelta).toBe(3);
        expect(decoded.value.recordsCount).toBe(4);
        expect(decoded.value.producerId).toBe(-1n);
        expect(decoded.value.producerEpoch).toBe(-1);
        expect(decoded.value.baseSequence).toBe(-1);
        expect(decoded.value.partitionLeaderEpoch).toBe(-1);
        expect(decoded.value.timestampType).toBe("create");
        expectRecordsMatch(decoded.value, input);
      }
    });

    test(`${name}: batch fields (idempotent, transactional, leader epoch, base offset, LogAppendTime)`, () => {
      const input: RecordBatchInput = {
        ...sampleBatch(),
        baseOffset: 2 ** 40,
        partitionLeaderEpoch: 9,
        producerId: 123456789n,
        producerEpoch: 3,
        baseSequence: 77,
        transactional: true,
        logAppendTime: 1_800_000_000_000,
      };
      const decoded = decodeRecordBatch(encode(input));
      expect(decoded.ok).toBe(true);
      if (!decoded.ok) return;
      const batch = decoded.value;
      expect([batch.baseOffset, batch.partitionLeaderEpoch, batch.producerId, batch.producerEpoch, batch.baseSequence]).toEqual([
        2 ** 40,
        9,
        123456789n,
        3,
        77,
      ]);
      expect([batch.transactional, batch.control, batch.timestampType, batch.maxTimestamp]).toEqual([true, false, "log_append", 1_800_000_000_000]);
      expectRecordsMatch(batch, input);
    });

    for (const codec of COMPRESSED_CODECS) {
      test(`${name}: ${CODEC_NAME[codec]} compresses the records section and the CRC covers it`, () => {
        const input: RecordBatchInput = { ...sampleBatch(), codec };
        const bytes = encode(input);
        expect(bytes[ATTRIBUTES_OFFSET + 1]! & 0x07).toBe(codec);
        for (const kernel of KERNELS) {
          const decoded = decodeRecordBatch(bytes, { kernel });
          expect(decoded.ok).toBe(true);
          if (decoded.ok) {
            expect(decoded.value.codec).toBe(codec);
            expectRecordsMatch(decoded.value, input);
          }
        }
      });
    }

    test(`${name}: timestamps follow Kafka's rule (>= 0, or -1 for none); breaking it is a bug, not a Result`, () => {
      const none = decodeRecordBatch(encode({ records: [{ value: "a", timestamp: -1 }, { value: "b", timestamp: 5 }] }));
      expect(none.ok && none.value.records.map((r) => r.timestamp)).toEqual([-1, 5]);
      expect(() => encode({ records: [{ value: "a", timestamp: -2 }] })).toThrow(AssertionError);
      expect(() => encode({ records: [{ value: "a", timestamp: 1.5 }] })).toThrow(AssertionError);
    });

    test(`${name}: large timestamps and deltas stay exact`, () => {
      const input: RecordBatchInput = {
        records: [
          { value: "a", timestamp: 2 ** 52 },
          { value: "b", timestamp: 0 },
          { value: "c", timestamp: Number.MAX_SAFE_INTEGER },
          { value: "d", timestamp: 1 },
        ],
      };
      const decoded = decodeRecordBatch(encode(input));
      expect(decoded.ok && decoded.value.records.map((r) => r.timestamp)).toEqual([2 ** 52, 0, Number.MAX_SAFE_INTEGER, 1]);
    });
  }

  test("both encoders write identical bytes, for many shapes", () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 200; round++) {
      const records: RecordInput[] = [];
      const count = 1 + Math.floor(random() * 20);
      for (let i = 0; i < count; i++) {
        const size = Math.floor(random() * random() * 400);
        const value = random() < 0.1 ? null : random() < 0.5 ? "é".repeat(size) : new Uint8Array(size).fill(i);
        const key = random() < 0.3 ? null : `key-${Math.floor(random() * 1000)}`;
        const headers = random() < 0.3 ? [{ key: "h" + i, value: random() < 0.5 ? null : "v".repeat(size % 200) }] : undefined;
        records.push({ key, value, headers, timestamp: 1_700_000_000_000 + Math.floor((random() - 0.5) * 2 ** 40) });
      }
      const input: RecordBatchInput = { records, baseOffset: round, producerId: round % 2 ? 5 : -1 };
      expect(encodeRecordBatch(input)).toEqual(encodeRecordBatchTs(input));
    }
  });

  test("utf8Length agrees with TextEncoder, lone surrogates included", () => {
    for (const text of ["", "abc", "é", "✓", "😀", "a\ud800b", "\udc00", "x😀y\ud83d"]) expect(utf8Length(text)).toBe(utf8.encode(text).length);
  });
});

describe("incremental builder", () => {
  test("stops at batchSizeBytes and the closed batch equals the one-shot encoding of the records it took", () => {
    const builder = new RecordBatchBuilder({ producerId: 1, producerEpoch: 0, baseSequence: 10 }, 1024);
    const records: RecordInput[] = [];
    for (let i = 0; ; i++) {
      const record = { key: `k${i}`, value: new Uint8Array(100).fill(i), timestamp: 1000 + i };
      if (!builder.append(record)) break;
      records.push(record);
    }
    expect(records.length).toBe(8);
    expect(builder.sizeBytes).toBeLessThanOrEqual(1024);
    const bytes = builder.close();
    expect(bytes.length).toBe(builder.sizeBytes);
    expect(bytes).toEqual(encodeRecordBatch({ records, producerId: 1, producerEpoch: 0, baseSequence: 10 }));
  });

  test("close returns a view of a mostly full buffer and a right-sized copy of a mostly empty one", () => {
    const full = new RecordBatchBuilder({}, 4096);
    while (full.append({ value: new Uint8Array(100).fill(7), timestamp: 5 }));
    const fullBytes = full.close();
    expect(fullBytes.length).toBe(full.sizeBytes);
    expect(fullBytes.buffer.byteLength).toBe(4096);
    expect(validateRecordBatch(fullBytes).ok).toBe(true);
    const small = new RecordBatchBuilder({}, 4096);
    expect(small.append({ value: new Uint8Array(100), timestamp: 5 })).toBe(true);
    const smallBytes = small.close();
    expect(smallBytes.buffer.byteLength).toBe(smallBytes.length);
    expect(validateRecordBatch(smallBytes).ok).toBe(true);
    expect(() => small.append({ value: null, timestamp: 5 })).toThrow();
  });

  test("an empty builder takes one record larger than batchSizeBytes (Kafka's rule)", () => {
    const builder = new RecordBatchBuilder({}, 100);
    expect(builder.append({ value: new Uint8Array(500), timestamp: 1 })).toBe(true);
    expect(builder.append({ value: new Uint8Array(1), timestamp: 1 })).toBe(false);
    expect(validateRecordBatch(builder.close()).ok).toBe(true);
  });

  test("compressed close", () => {
    const builder = new RecordBatchBuilder({ codec: CODEC_LZ4 });
    for (let i = 0; i < 50; i++) builder.append({ value: "repeat me ".repeat(20), timestamp: i });
    const bytes = builder.close();
    expect(bytes.length).toBeLessThan(builder.sizeBytes);
    const decoded = decodeRecordBatch(bytes);
    expect(decoded.ok && decoded.value.records.length).toBe(50);
  });
});

describe("cursor", () => {
  test("walks positions and lengths that match the decoded records", () => {
    const input = sampleBatch();
    const bytes = encodeRecordBatch({ ...input, baseOffset: 100 });
    const opened = openRecordCursor(bytes);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    const cursor = opened.value;
    const seen: unknown[] = [];
    while (cursor.next()) {
      const key = cursor.keyLength < 0 ? null : cursor.records.subarray(cursor.keyStart, cursor.keyStart + cursor.keyLength);
      expect(key).toEqual(cursor.key());
      seen.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key(), value: cursor.value(), headers: cursor.headers() });
    }
    const decoded = decodeRecordBatch(bytes);
    expect(decoded.ok && decoded.value.records).toEqual(seen as never);
    expect(cursor.recordEnd).toBe(cursor.records.length);
  });
});

describe("control records", () => {
  test("COMMIT and ABORT markers round trip in a transactional control batch", () => {
    for (const type of [CONTROL_TYPE_COMMIT, CONTROL_TYPE_ABORT] as const) {
      const bytes = encodeRecordBatch({ records: [controlRecord(type, 17, 5000)], control: true, transactional: true, producerId: 9, producerEpoch: 2 });
      const decoded = decodeRecordBatch(bytes);
      expect(decoded.ok).toBe(true);
      if (!decoded.ok) return;
      expect([decoded.value.control, decoded.value.transactional]).toEqual([true, true]);
      const record = decoded.value.records[0]!;
      expect(record.key).toEqual(new Uint8Array([0, 0, 0, type]));
      expect(readControlRecord(record.key, record.value)).toEqual({ ok: true, value: { type, coordinatorEpoch: 17 } });
    }
    expect(readControlRecord(new Uint8Array([0, 1, 0, 0]), null)).toEqual({ ok: false, error: "bad_record" });
    expect(readControlRecord(new Uint8Array([0, 0, 0, 1]), new Uint8Array(2))).toEqual({ ok: false, error: "bad_record" });
  });
});

describe("interop with @platformatic/kafka's v2 encoder and reader", () => {
  type Message = { topic: string; partition: number; key: Buffer | null; value: Buffer | null; timestamp: bigint; headers: Map<Buffer, Buffer | null> };

  function theirMessages(input: RecordBatchInput): Message[] {
    const asBuffer = (v: Uint8Array | string | null | undefined) => (v === null || v === undefined ? null : Buffer.from(typeof v === "string" ? bytesOf(v) : v));
    return input.records.map((r) => ({
      topic: "t",
      partition: 0,
      key: asBuffer(r.key),
      value: asBuffer(r.value),
      timestamp: BigInt(r.timestamp),
      headers: new Map((r.headers ?? []).map((h) => [Buffer.from(h.key), asBuffer(h.value)])),
    }));
  }

  function theirBatch(input: RecordBatchInput, codec: number): Uint8Array {
    const sequences = new NumericMap();
    sequences.set("t:0", input.baseSequence ?? 0);
    const options: Record<string, unknown> = {
      producerId: BigInt(input.producerId ?? -1),
      producerEpoch: input.producerEpoch ?? 0,
      partitionLeaderEpoch: input.partitionLeaderEpoch ?? 0,
      sequences,
      compression: CODEC_NAME[codec],
    };
    if (input.transactional) options.transactionalId = "tx";
    return new Uint8Array(createRecordsBatch(theirMessages(input) as never, options as never).buffer as Buffer);
  }

  // Their field defaults, made explicit on our side so both describe the same batch.
  function sameFields(input: RecordBatchInput): RecordBatchInput {
    return { ...input, producerId: input.producerId ?? -1, producerEpoch: input.producerEpoch ?? 0, baseSequence: input.baseSequence ?? 0, partitionLeaderEpoch: input.partitionLeaderEpoch ?? 0 };
  }

  const inputs: [string, RecordBatchInput][] = [
    ["plain", sampleBatch()],
    ["idempotent", { ...sampleBatch(), producerId: 1001, producerEpoch: 4, baseSequence: 250 }],
    ["transactional", { ...sampleBatch(), producerId: 1002, producerEpoch: 1, baseSequence: 0, transactional: true, partitionLeaderEpoch: 12 }],
    [
      "many records",
      {
        records: Array.from({ length: 300 }, (_, i) => ({
          key: i % 7 === 0 ? null : `key-${i}`,
          value: i % 11 === 0 ? null : `value-${i}-`.repeat(i % 13),
          timestamp: 1_763_700_000_000 + ((i * 7919) % 5000),
          headers: i % 3 === 0 ? [{ key: `h${i}`, value: `${i}` }] : [],
        })),
      },
    ],
  ];

  for (const codec of [CODEC_NONE, ...COMPRESSED_CODECS]) {
    for (const [label, raw] of inputs) {
      const input = sameFields(raw);
      test(`theirs -> ours and ours -> theirs: ${label}, ${CODEC_NAME[codec]}`, () => {
        const theirs = theirBatch(input, codec);
        const ours = encodeRecordBatch({ ...input, codec });
        if (codec === CODEC_NONE || codec === CODEC_GZIP) expect(ours).toEqual(theirs); // same zlib for gzip
        for (const kernel of KERNELS) {
          const decoded = decodeRecordBatch(theirs, { kernel });
          expect(decoded.ok).toBe(true);
          if (!decoded.ok) return;
          expectRecordsMatch(decoded.value, input);
          expect(decoded.value.transactional).toBe(input.transactional ?? false);
        }
        const read = readRecordsBatch(Reader.from(Buffer.from(ours))) as {
          firstOffset: bigint; length: number; partitionLeaderEpoch: number; magic: number; crc: number; attributes: number;
          lastOffsetDelta: number; firstTimestamp: bigint; maxTimestamp: bigint; producerId: bigint; producerEpoch: number; firstSequence: number;
          records: { timestampDelta: bigint; offsetDelta: number; key: Buffer | null; value: Buffer | null; headers: [Buffer, Buffer | null][] }[];
        };
        const mine = decodeRecordBatch(ours);
        expect(mine.ok).toBe(true);
        if (!mine.ok) return;
        const batch = mine.value;
        expect([read.firstOffset, read.length, read.partitionLeaderEpoch, read.magic, read.crc, read.attributes]).toEqual([
          BigInt(batch.baseOffset), batch.sizeBytes - 12, batch.partitionLeaderEpoch, 2, batch.crc, batch.attributes,
        ]);
        expect([read.lastOffsetDelta, read.firstTimestamp, read.maxTimestamp, read.producerId, read.producerEpoch, read.firstSequence]).toEqual([
          batch.lastOffsetDelta, BigInt(batch.baseTimestamp), BigInt(batch.maxTimestamp), batch.producerId, batch.producerEpoch, batch.baseSequence,
        ]);
        expect(read.records.length).toBe(batch.records.length);
        read.records.forEach((r, i) => {
          const record = batch.records[i]!;
          expect(r.offsetDelta).toBe(i);
          expect(Number(r.timestampDelta) + batch.baseTimestamp).toBe(record.timestamp);
          expect(r.key === null ? null : (new Uint8Array(r.key) as Uint8Array)).toEqual(record.key);
          expect(r.value === null ? null : (new Uint8Array(r.value) as Uint8Array)).toEqual(record.value);
          expect(r.headers.map(([k, v]) => ({ key: k.toString("utf8"), value: v === null ? null : (new Uint8Array(v) as Uint8Array) }))).toEqual(record.headers);
        });
      });
    }
  }
});

describe("golden fixtures (written by @platformatic/kafka, see test/fixtures/record-batch/README.md)", () => {
  function ourInput(fixture: Fixture): RecordBatchInput {
    return {
      producerId: fixture.producerId,
      producerEpoch: fixture.producerEpoch,
      baseSequence: fixture.baseSequence,
      partitionLeaderEpoch: fixture.partitionLeaderEpoch,
      transactional: fixture.transactional,
      records: fixture.records.map((r) => ({
        key: r.key,
        value: r.value,
        timestamp: r.timestamp,
        headers: r.headers.map(([key, value]) => ({ key, value })),
      })),
    };
  }

  for (const fixture of FIXTURES) {
    test(fixture.name, () => {
      const golden = new Uint8Array(readFileSync(join(FIXTURE_DIR, `${fixture.name}.bin`)));
      for (const [, encode] of ENCODERS) expect(encode(ourInput(fixture))).toEqual(golden);
      for (const kernel of KERNELS) {
        const decoded = decodeRecordBatch(golden, { kernel });
        expect(decoded.ok).toBe(true);
        if (decoded.ok) expectRecordsMatch(decoded.value, ourInput(fixture));
      }
    });
  }
});

describe("bad input: typed errors, never a throw (both kernels)", () => {
  const plain = encodeRecordBatch(sampleBatch());
  const valid = [plain, ...COMPRESSED_CODECS.map((codec) => encodeRecordBatch({ ...sampleBatch(), codec }))];

  for (const kernel of KERNELS) {
    const check = (bytes: Uint8Array, options: RecordBatchReadOptions = {}) => validateRecordBatch(bytes, { kernel, ...options });

    test(`${kernel}: every prefix is "incomplete"`, () => {
      for (const batch of valid) {
        for (let cut = 0; cut < batch.length; cut++) expect(check(batch.subarray(0, cut))).toEqual({ ok: false, error: "incomplete" });
        expect(check(batch).ok).toBe(true);
      }
    });

    test(`${kernel}: header errors`, () => {
      const edit = (at: number, set: (d: DataView) => void) => {
        const copy = plain.slice();
        set(new DataView(copy.buffer));
        return copy;
      };
      expect(check(edit(0, (d) => d.setInt8(MAGIC_OFFSET, 1)))).toEqual({ ok: false, error: "bad_magic" });
      expect(check(edit(0, (d) => d.setInt32(LENGTH_OFFSET, -5)))).toEqual({ ok: false, error: "bad_length" });
      expect(check(edit(0, (d) => d.setInt32(LENGTH_OFFSET, 48)))).toEqual({ ok: false, error: "bad_length" });
      expect(check(edit(0, (d) => d.setInt32(LENGTH_OFFSET, 0x7fffffff)))).toEqual({ ok: false, error: "too_large" });
      expect(check(plain, { maxBatchBytes: plain.length - 1 })).toEqual({ ok: false, error: "too_large" });
      const flipped = plain.slice();
      flipped[plain.length - 3]! ^= 0x10;
      expect(check(flipped)).toEqual({ ok: false, error: "crc_mismatch" });
      expect(check(withCrc(edit(0, (d) => d.setInt32(RECORDS_COUNT_OFFSET, -1))))).toEqual({ ok: false, error: "record_count_mismatch" });
      expect(check(withCrc(edit(0, (d) => d.setInt32(RECORDS_COUNT_OFFSET, BATCH_RECORDS_MAX + 1))))).toEqual({ ok: false, error: "too_large" });
      expect(check(withCrc(edit(0, (d) => d.setInt32(RECORDS_COUNT_OFFSET, 5))))).toEqual({ ok: false, error: "record_count_mismatch" });
      expect(check(withCrc(edit(0, (d) => d.setInt32(RECORDS_COUNT_OFFSET, 3))))).toEqual({ ok: false, error: "record_count_mismatch" });
      expect(check(withCrc(edit(0, (d) => d.setInt32(LAST_OFFSET_DELTA_OFFSET, 4))))).toEqual({ ok: false, error: "offset_delta_mismatch" });
      expect(check(edit(0, (d) => d.setBigInt64(0, 2n ** 54n)))).toEqual({ ok: false, error: "out_of_range" });
      expect(check(edit(0, (d) => d.setBigInt64(0, -1n)))).toEqual({ ok: false, error: "out_of_range" });
      expect(check(withCrc(edit(0, (d) => d.setBigInt64(MAX_TIMESTAMP_OFFSET, 2n ** 60n))))).toEqual({ ok: false, error: "out_of_range" });
      expect(check(withCrc(edit(0, (d) => d.setInt16(ATTRIBUTES_OFFSET, 5))))).toEqual({ ok: false, error: "unsupported_codec" });
      expect(check(withCrc(edit(0, (d) => d.setInt16(ATTRIBUTES_OFFSET, CODEC_SNAPPY))))).toEqual({ ok: false, error: "unsupported_codec" });
      expect(check(withCrc(edit(0, (d) => d.setInt16(ATTRIBUTES_OFFSET, CODEC_GZIP))))).toEqual({ ok: false, error: "decompression_failed" });
    });

    test(`${kernel}: record-level errors`, () => {
      // A minimal well-formed record: length 6, attributes, tsDelta 0, offsetDelta 0, key -1, value -1, 0 headers.
      const record = [12, 0, 0, 0, 1, 1, 0];
      expect(check(rawBatch(record, 1, 0)).ok).toBe(true);
      expect(check(rawBatch([...record, ...record], 2, 0))).toEqual({ ok: false, error: "offset_delta_mismatch" }); // deltas 0, 0
      expect(check(rawBatch([...record, 0], 1, 0))).toEqual({ ok: false, error: "record_count_mismatch" }); // trailing byte
      expect(check(rawBatch([14, 0, 0, 0, 1, 1, 0], 1, 0))).toEqual({ ok: false, error: "bad_record" }); // length overruns
      expect(check(rawBatch([10, 0, 0, 0, 1, 1, 0], 1, 0))).toEqual({ ok: false, error: "bad_record" }); // length too small
      expect(check(rawBatch([1, 0, 0, 0, 1, 1, 0], 1, 0))).toEqual({ ok: false, error: "bad_record" }); // negative length
      expect(check(rawBatch([12, 0, 0, 0, 4, 1, 0], 1, 0))).toEqual({ ok: false, error: "bad_record" }); // key past record
      expect(check(rawBatch([12, 0, 0, 0, 3, 1, 0], 1, 0))).toEqual({ ok: false, error: "bad_record" }); // key length -2
      expect(check(rawBatch([12, 0, 0, 0, 1, 1, 2], 1, 0))).toEqual({ ok: false, error: "bad_record" }); // header past record
      expect(check(rawBatch([12, 0, 0, 1, 1, 1, 0], 1, 0))).toEqual({ ok: false, error: "offset_delta_mismatch" }); // delta -1
      expect(check(rawBatch([12, 0, 0, 0, 1, 1, 1], 1, 0))).toEqual({ ok: false, error: "bad_record" }); // negative headers
      // Null header key (-1) is malformed (Kafka rejects it).
      expect(check(rawBatch([16, 0, 0, 0, 1, 1, 2, 1, 1], 1, 0))).toEqual({ ok: false, error: "bad_record" });
      // Varint overflow: a 6-byte offsetDelta inside a record long enough to hold it.
      expect(check(rawBatch([22, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 1, 0], 1, 0))).toEqual({ ok: false, error: "varint_overflow" });
      expect(check(rawBatch([0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 1, 0))).toEqual({ ok: false, error: "varint_overflow" });
      // Timestamp delta beyond 2^53: not representable, a malformed record for Rivulet.
      const huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
      expect(check(rawBatch([2 * 14, 0, ...huge, 0, 1, 1, 0], 1, 0))).toEqual({ ok: false, error: "bad_record" });
      // A record timestamp (baseTimestamp + delta) past 2^53.
      const late = rawBatch([12, 0, 4, 0, 1, 1, 0], 1, 0);
      new DataView(late.buffer).setBigInt64(BASE_TIMESTAMP_OFFSET, BigInt(Number.MAX_SAFE_INTEGER - 1));
      expect(check(withCrc(late))).toEqual({ ok: false, error: "bad_record" });
      // A varint running past the end of the section.
      expect(check(rawBatch([0x80], 1, 0))).toEqual({ ok: false, error: "bad_record" });
      // Offset deltas: a producer's batch has exactly 0..n-1; a stored (cleaned) batch may have gaps.
      const at = (delta: number) => [12, 0, 0, 2 * delta, 1, 1, 0];
      const gapped = rawBatch([...at(0), ...at(2)], 2, 2);
      expect(check(gapped)).toEqual({ ok: false, error: "offset_delta_mismatch" });
      expect(check(gapped, { allowOffsetGaps: true }).ok).toBe(true);
      const shrunk = rawBatch(at(1), 1, 5); // the cleaner kept only offset 1 of 0..5
      expect(check(shrunk)).toEqual({ ok: false, error: "offset_delta_mismatch" });
      expect(check(shrunk, { allowOffsetGaps: true }).ok).toBe(true);
      expect(check(rawBatch(at(6), 1, 5), { allowOffsetGaps: true })).toEqual({ ok: false, error: "offset_delta_mismatch" });
      expect(check(rawBatch([...at(2), ...at(1)], 2, 2), { allowOffsetGaps: true })).toEqual({ ok: false, error: "offset_delta_mismatch" });
      const decodedGaps = decodeRecordBatch(gapped, { kernel, allowOffsetGaps: true });
      expect(decodedGaps.ok && decodedGaps.value.records.map((r) => r.offset)).toEqual([0, 2]);
      // Empty records section with a zero count is valid (a compacted-away batch).
      expect(check(rawBatch([], 0, 0)).ok).toBe(true);
    });

    test(`${kernel}: decompression bombs are "decompressed_too_large"`, () => {
      const records = new Uint8Array(4 * 1024 * 1024); // zeros: a few KB compressed
      for (const codec of COMPRESSED_CODECS) {
        const compressed = compressRecords(codec, records);
        expect(compressed.ok).toBe(true);
        if (!compressed.ok) return;
        const batch = rawBatch([...compressed.value], 1, 0, codec);
        expect(check(batch, { maxDecompressedBytes: 1024 * 1024 })).toEqual({ ok: false, error: "decompressed_too_large" });
        // Within the bound it decompresses and the walk finds the zeros malformed, not a throw.
        expect(check(batch).ok).toBe(false);
      }
    });
  }

  test("gzip bomb against the default bound is bounded (checked with a small bound for speed)", () => {
    const bomb = zlib.gzipSync(new Uint8Array(8 * 1024 * 1024));
    const batch = rawBatch([...bomb], 1, 0, CODEC_GZIP);
    expect(validateRecordBatch(batch, { maxDecompressedBytes: 1 })).toEqual({ ok: false, error: "decompressed_too_large" });
  });
});
