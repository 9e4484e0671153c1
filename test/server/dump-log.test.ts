import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/engine/broker.ts";
import { CODEC_LZ4 } from "../../core/formats/codecs.ts";
import { CONTROL_TYPE_COMMIT, controlRecord, encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { CRC_OFFSET, LENGTH_OFFSET, RECORD_BATCH_HEADER_BYTES } from "../../core/formats/record-batch-header.ts";
import { dumpIndexFile, dumpLogSegment, type DumpLogSummary } from "../../server/dump-log.ts";

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-dump-log-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let segment = "";
let segmentBytes = new Uint8Array(0);
const batchPositions: number[] = [];

// A real segment written by the engine: a plain batch, an LZ4 batch with headers and a binary value, an
// idempotent transactional batch, and a COMMIT control batch.
beforeAll(async () => {
  const broker = await Broker.open({ dataDir: join(root, "data"), retentionCheckIntervalMs: 0, cleanerIntervalMs: 0, flushCheckIntervalMs: 0 });
  const created = await broker.createTopic("orders");
  expect(created.ok).toBe(true);
  const log = broker.partition("orders", 0);
  if (!log.ok) throw new Error(log.message);
  const batches = [
    encodeRecordBatch({ records: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `hello ${i}`, timestamp: 1_700_000_000_000 + i })) }),
    encodeRecordBatch({
      codec: CODEC_LZ4,
      records: [
        { key: null, value: new Uint8Array([0xff, 0x00, 0x80]), timestamp: 1_700_000_000_010, headers: [{ key: "trace", value: "abc" }] },
        { key: "t", value: null, timestamp: 1_700_000_000_011 },
      ],
    }),
    encodeRecordBatch({ transactional: true, producerId: 42n, producerEpoch: 3, baseSequence: 0, records: [{ value: "tx", timestamp: 1_700_000_000_020 }] }),
    encodeRecordBatch({ transactional: true, control: true, producerId: 42n, producerEpoch: 3, records: [controlRecord(CONTROL_TYPE_COMMIT, 5, 1_700_000_000_030)] }),
  ];
  for (const batch of batches) batchPositions.push(log.value.append(batch).position);
  await broker.close();
  segment = join(root, "data", "orders-0", "00000000000000000000.log");
  segmentBytes = new Uint8Array(fs.readFileSync(segment));
});

function dump(path: string, printDataLog = false): { lines: string[]; summary: DumpLogSummary } {
  const lines: string[] = [];
  const result = dumpLogSegment(path, { printDataLog }, (line) => lines.push(line));
  if (!result.ok) throw new Error(result.message ?? result.error);
  return { lines, summary: result.value };
}

function variant(name: string, bytes: Uint8Array): string {
  const path = join(root, name);
  fs.writeFileSync(path, bytes);
  return path;
}

describe("dump-log", () => {
  test("prints every batch like Kafka's DumpLogSegments", () => {
    const { lines, summary } = dump(segment);
    expect(lines[0]).toBe(`Dumping ${segment}`);
    expect(lines[1]).toBe("Log starting offset: 0");
    const batchLines = lines.filter((line) => line.startsWith("baseOffset:"));
    expect(batchLines).toHaveLength(4);
    expect(batchLines[0]).toMatch(
      /^baseOffset: 0 lastOffset: 2 count: 3 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: -?\d+ isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000002 size: \d+ magic: 2 compresscodec: none crc: \d+ isvalid: true$/,
    );
    expect(batchLines[1]).toContain(`baseOffset: 3 lastOffset: 4 count: 2`);
    expect(batchLines[1]).toContain(`position: ${batchPositions[1]} `);
    expect(batchLines[1]).toContain("compresscodec: lz4");
    expect(batchLines[2]).toContain("baseOffset: 5 lastOffset: 5 count: 1 baseSequence: 0 lastSequence: 0 producerId: 42 producerEpoch: 3");
    expect(batchLines[2]).toContain("isTransactional: true isControl: false");
    expect(batchLines[3]).toContain("isTransactional: true isControl: true");
    expect(lines.some((line) => line.startsWith("|"))).toBe(false);
    expect(summary).toEqual({ batches: 4, records: 7, invalidBatches: 0, fileBytes: segmentBytes.length, readBytes: segmentBytes.length, tail: "clean", tailDetail: "" });
    expect(lines.at(-1)).toBe(`Summary: 4 batches, 7 records, 0 with a bad CRC, ${segmentBytes.length} of ${segmentBytes.length} bytes read, tail clean`);
  });

  test("--print-data-log prints records: offset, timestamp, key, value, headers, control markers", () => {
    const records = dump(segment, true).lines.filter((line) => line.startsWith("|"));
    expect(records).toEqual([
      "| offset: 0 CreateTime: 1700000000000 keySize: 2 valueSize: 7 sequence: -1 headerKeys: [] key: k0 payload: hello 0",
      "| offset: 1 CreateTime: 1700000000001 keySize: 2 valueSize: 7 sequence: -1 headerKeys: [] key: k1 payload: hello 1",
      "| offset: 2 CreateTime: 1700000000002 keySize: 2 valueSize: 7 sequence: -1 headerKeys: [] key: k2 payload: hello 2",
      "| offset: 3 CreateTime: 1700000000010 keySize: -1 valueSize: 3 sequence: -1 headerKeys: [trace] key: null payload: 0xff0080 headers: [trace=abc]",
      "| offset: 4 CreateTime: 1700000000011 keySize: 1 valueSize: -1 sequence: -1 headerKeys: [] key: t payload: null",
      "| offset: 5 CreateTime: 1700000000020 keySize: -1 valueSize: 2 sequence: 0 headerKeys: [] key: null payload: tx",
      "| offset: 6 CreateTime: 1700000000030 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 5",
    ]);
  });

  test("a batch with a bad CRC is reported invalid and the dump goes on", () => {
    const bytes = segmentBytes.slice();
    bytes[batchPositions[1]! + RECORD_BATCH_HEADER_BYTES + 2]! ^= 0x40;
    const { lines, summary } = dump(variant("bad-crc.log", bytes), true);
    const batchLines = lines.filter((line) => line.startsWith("baseOffset:"));
    expect(batchLines.map((line) => line.endsWith("isvalid: true"))).toEqual([true, false, true, true]);
    expect(lines).toContain("| records not printed: crc_mismatch");
    expect(summary).toMatchObject({ batches: 4, invalidBatches: 1, records: 5, tail: "clean" });
  });

  test("a torn tail is reported, not crashed on", () => {
    const cut = batchPositions[3]! + 20;
    const { lines, summary } = dump(variant("torn.log", segmentBytes.subarray(0, cut)));
    expect(summary).toMatchObject({ batches: 3, tail: "torn", readBytes: batchPositions[3] });
    expect(lines.find((line) => line.startsWith("Stopped: torn tail"))).toContain(`position ${batchPositions[3]}`);
  });

  test("bytes that are not a batch end the dump as corrupt", () => {
    const bytes = segmentBytes.slice();
    new DataView(bytes.buffer).setInt32(batchPositions[2]! + LENGTH_OFFSET, -5);
    const { lines, summary } = dump(variant("corrupt.log", bytes));
    expect(summary).toMatchObject({ batches: 2, tail: "corrupt", readBytes: batchPositions[2] });
    expect(lines.find((line) => line.startsWith("Stopped: corrupt data"))).toContain("bad_length");
    const huge = segmentBytes.slice();
    new DataView(huge.buffer).setInt32(LENGTH_OFFSET, 0x7ffffff0);
    expect(dump(variant("huge.log", huge)).summary).toMatchObject({ batches: 0, tail: "corrupt" });
    const magic = segmentBytes.slice();
    magic[CRC_OFFSET - 1] = 1;
    expect(dump(variant("magic.log", magic)).summary).toMatchObject({ batches: 0, tail: "corrupt" });
  });

  test("every prefix of the segment dumps without throwing, and only whole batches count", () => {
    const path = join(root, "prefix.log");
    for (let cut = 0; cut <= segmentBytes.length; cut++) {
      fs.writeFileSync(path, segmentBytes.subarray(0, cut));
      const { summary } = dump(path, true);
      const whole = [...batchPositions.slice(1), segmentBytes.length].filter((end) => end <= cut).length;
      expect(summary.batches).toBe(whole);
      expect(summary.tail).toBe(batchPositions.includes(cut) || cut === segmentBytes.length ? "clean" : "torn");
    }
  });

  test("a missing file is an error, not a throw", () => {
    const result = dumpLogSegment(join(root, "missing.log"), {}, () => undefined);
    expect(result.ok).toBe(false);
    expect(result.message).toContain("missing.log");
  });
});

describe("dump-log of index files", () => {
  test(".index and .timeindex entries print with absolute offsets; disorder and partial entries are reported", async () => {
    const dataDir = join(root, "indexed");
    const broker = await Broker.open({
      dataDir,
      defaults: { "log.index.interval.bytes": 0 },
      retentionCheckIntervalMs: 0,
      cleanerIntervalMs: 0,
      flushCheckIntervalMs: 0,
    });
    await broker.createTopic("idx");
    const log = broker.partition("idx", 0);
    if (!log.ok) throw new Error(log.message);
    const positions: number[] = [];
    for (let i = 0; i < 5; i++) {
      positions.push(log.value.append(encodeRecordBatch({ records: [{ value: `a${i}`, timestamp: 1000 + i }, { value: `b${i}`, timestamp: 1000 + i }] })).position);
    }
    await broker.close();
    const dir = join(dataDir, "idx-0");
    const lines: string[] = [];
    const offsets = dumpIndexFile(join(dir, "00000000000000000000.index"), (line) => lines.push(line));
    if (!offsets.ok) throw new Error(offsets.message);
    const entries = lines.filter((line) => line.startsWith("offset:"));
    expect(offsets.value).toEqual({ kind: "offset", entries: entries.length, problems: 0 });
    expect(entries.length).toBeGreaterThanOrEqual(2);
    // Every entry names a batch start and an offset inside the log.
    for (const entry of entries) {
      const [, offset, position] = /^offset: (\d+) position: (\d+)$/.exec(entry)!.map(Number);
      expect(positions).toContain(position!);
      expect(offset!).toBeLessThan(10);
    }
    const timeLines: string[] = [];
    const times = dumpIndexFile(join(dir, "00000000000000000000.timeindex"), (line) => timeLines.push(line));
    if (!times.ok) throw new Error(times.message);
    expect(times.value.problems).toBe(0);
    expect(timeLines.filter((line) => line.startsWith("timestamp:")).at(-1)).toBe("timestamp: 1004 offset: 9");

    // Two entries swapped, and a partial entry at the end.
    const bytes = new Uint8Array(fs.readFileSync(join(dir, "00000000000000000000.index")));
    {
      const swapped = bytes.slice();
      swapped.set(bytes.subarray(8, 16), 0);
      swapped.set(bytes.subarray(0, 8), 8);
      const damaged = join(root, "00000000000000000000.index");
      fs.writeFileSync(damaged, Buffer.concat([swapped, new Uint8Array(3)]));
      const out: string[] = [];
      const result = dumpIndexFile(damaged, (line) => out.push(line));
      expect(result.ok && result.value.problems).toBe(2);
      expect(out.some((line) => line.startsWith("Stopped: partial entry: 3 bytes"))).toBe(true);
    }
  });
});
