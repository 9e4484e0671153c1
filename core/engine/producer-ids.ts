// Producer id allocation, unique across restarts (the model of Kafka's ProducerIdManager): ids are handed out from
// blocks of PRODUCER_ID_BLOCK_SIZE, and a block is reserved durably (the start of the NEXT block written to disk
// and fsynced) before any id of it is handed out. A crash loses at most the unused rest of one block; an id is
// never handed out twice, since a restart continues from the persisted block end.
//
//   <dataDir>/producer-ids   (text, rewritten atomically)
//
//   rivulet-producer-ids 1
//   next-block-start <id>        every id below it may have been handed out
//   crc32c <8 hex digits>        CRC-32C of every byte before this line
//
// A file that exists but cannot be read is a typed error: the broker must refuse to start rather than risk
// handing out an id that a live producer holds (its partitions would take the new producer's batches as
// duplicates or out of order).
import { crc32c } from "../formats/crc32c.ts";
import { type Result, err, ok } from "../formats/result.ts";
import { assert } from "../assert.ts";
import { readBoundedFile, writeFileAtomically } from "./durable-file.ts";
import { join } from "node:path";
import { PRODUCER_ID_MAX, type ProducerId } from "./producer-state.ts";

/** File name of the allocator's state in the data directory. */
export const PRODUCER_IDS_FILE_NAME = "producer-ids";
/** Ids reserved per durable write (Kafka's ProducerIdManager block size). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Upper bound on the file; anything larger is garbage and is not read. */
export const PRODUCER_IDS_FILE_BYTES_MAX = 256;

const MAGIC_LINE = "rivulet-producer-ids 1";

/** Why the allocator's file could not be used. */
export type ProducerIdsError = "too_large" | "malformed" | "crc_mismatch";

/** Serializes the allocator state (the layout at the top of this file). */
export function encodeProducerIds(nextBlockStart: number): string {
  const body = `${MAGIC_LINE}\nnext-block-start ${nextBlockStart}\n`;
  return `${body}crc32c ${crc32c(new TextEncoder().encode(body)).toString(16).padStart(8, "0")}\n`;
}

/** Parses the allocator file's bytes into the next block start; never throws. */
export function decodeProducerIds(bytes: Uint8Array): Result<number, ProducerIdsError> {
  if (bytes.length > PRODUCER_IDS_FILE_BYTES_MAX) return err("too_large");
  const text = new TextDecoder().decode(bytes);
  const match = /^(rivulet-producer-ids 1\nnext-block-start (\d{1,16})\n)crc32c ([0-9a-f]{8})\n$/.exec(text);
  if (match === null) return err("malformed");
  if (crc32c(new TextEncoder().encode(match[1]!)) !== parseInt(match[3]!, 16)) return err("crc_mismatch");
  const next = Number(match[2]);
  if (!Number.isSafeInteger(next) || next > PRODUCER_ID_MAX) return err("malformed");
  return ok(next);
}

/** Hands out producer ids, unique across restarts of the same data directory. */
export class ProducerIdManager {
  // Ids in [next, blockEnd) are reserved on disk and not yet handed out.
  private next: number;
  private blockEnd: number;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dataDir: string,
    persistedNextBlockStart: number,
  ) {
    this.next = persistedNextBlockStart;
    this.blockEnd = persistedNextBlockStart;
  }

  /** Reads the allocator's state in `dataDir` (a fresh allocator when the file is missing). */
  static open(dataDir: string): Result<ProducerIdManager, ProducerIdsError> {
    const read = readBoundedFile(join(dataDir, PRODUCER_IDS_FILE_NAME), PRODUCER_IDS_FILE_BYTES_MAX);
    if (!read.ok) return read.error === "missing" ? ok(new ProducerIdManager(dataDir, 0)) : err("too_large");
    const decoded = decodeProducerIds(read.value);
    if (!decoded.ok) return decoded;
    return ok(new ProducerIdManager(dataDir, decoded.value));
  }

  /** Resolves once every allocation asked for so far has finished (the broker waits for it on close). */
  settled(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  /** The next producer id; reserves a new block durably first when the current one is used up. */
  allocate(): Promise<ProducerId> {
    const run = this.queue.then(async () => {
      if (this.next >= this.blockEnd) {
        const start = this.blockEnd;
        const end = start + PRODUCER_ID_BLOCK_SIZE;
        assert(end <= PRODUCER_ID_MAX, "producer id space exhausted");
        await writeFileAtomically(this.dataDir, PRODUCER_IDS_FILE_NAME, encodeProducerIds(end));
        this.next = start;
        this.blockEnd = end;
      }
      return this.next++ as ProducerId;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
