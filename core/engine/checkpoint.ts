// The partition checkpoint: what a partition log must remember across restarts besides its segments. Kept per
// partition directory (one small file, rewritten atomically), so a log opens and closes on its own and the Broker
// facade has nothing to coordinate. Kafka keeps the same facts per data dir (`recovery-point-offset-checkpoint`,
// `log-start-offset-checkpoint`, `.kafka_cleanshutdown`); one file per partition avoids a shared file that every
// partition would rewrite.
//
//   <partitionDir>/rivulet.checkpoint   (text, one field per line, in this order)
//
//   rivulet-partition-checkpoint 1
//   recovery-point <offset>          every offset below it is fdatasync'ed (recovery scans from its segment)
//   log-start-offset <offset>
//   log-end-offset <offset>
//   clean <0|1>                      1 only when written by close() after everything was synced
//   active-segment <base> <bytes> <ctimeNs>   identity of the active .log when this was written
//   crc32c <8 hex digits>            CRC-32C of every byte before this line
//
// "Clean" is trusted only while the active segment is still exactly what close() left: same base offset, same
// size, same ctime (any write or truncate changes ctime). So the first append after a clean start needs no
// marker removal (no fsync on the append path): a crash after it leaves a ctime that no longer matches, and the
// next start recovers from the recovery point.
import { join } from "node:path";
import { crc32c } from "../formats/crc32c.ts";
import { type Result, err, ok } from "../formats/result.ts";
import { type Offset, asOffset } from "./offsets.ts";
import { readBoundedFile, writeFileAtomically, writeFileAtomicallyNow } from "./durable-file.ts";

/** File name of the checkpoint inside the partition directory. */
export const CHECKPOINT_FILE_NAME = "rivulet.checkpoint";
/** Upper bound on a checkpoint file; anything larger is garbage and is not read. */
export const CHECKPOINT_BYTES_MAX = 1024;
/** How often a running log rewrites its checkpoint (Kafka's log.flush.offset.checkpoint.interval.ms). */
export const CHECKPOINT_INTERVAL_MS = 60_000;

const MAGIC_LINE = "rivulet-partition-checkpoint 1";

/** The facts a checkpoint records. */
export interface PartitionCheckpoint {
  recoveryPoint: Offset;
  logStartOffset: Offset;
  logEndOffset: Offset;
  clean: boolean;
  activeSegmentBaseOffset: Offset;
  activeSegmentBytes: number;
  activeSegmentCtimeNs: bigint;
}

/** Why a checkpoint could not be used (the log then recovers from offset 0). */
export type CheckpointError = "missing" | "too_large" | "malformed" | "crc_mismatch";

/** Serializes a checkpoint (the layout at the top of this file). */
export function encodeCheckpoint(checkpoint: PartitionCheckpoint): string {
  const body =
    `${MAGIC_LINE}\n` +
    `recovery-point ${checkpoint.recoveryPoint}\n` +
    `log-start-offset ${checkpoint.logStartOffset}\n` +
    `log-end-offset ${checkpoint.logEndOffset}\n` +
    `clean ${checkpoint.clean ? 1 : 0}\n` +
    `active-segment ${checkpoint.activeSegmentBaseOffset} ${checkpoint.activeSegmentBytes} ${checkpoint.activeSegmentCtimeNs}\n`;
  const crc = crc32c(new TextEncoder().encode(body)).toString(16).padStart(8, "0");
  return `${body}crc32c ${crc}\n`;
}

function parseOffset(text: string | undefined): Offset | null {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? asOffset(value) : null;
}

/** Parses checkpoint bytes; never throws. */
export function decodeCheckpoint(bytes: Uint8Array): Result<PartitionCheckpoint, CheckpointError> {
  if (bytes.length > CHECKPOINT_BYTES_MAX) return err("too_large");
  const text = new TextDecoder().decode(bytes);
  const crcAt = text.lastIndexOf("crc32c ");
  if (crcAt < 0) return err("malformed");
  const crcMatch = /^crc32c ([0-9a-f]{8})\n$/.exec(text.slice(crcAt));
  if (crcMatch === null) return err("malformed");
  if (crc32c(bytes.subarray(0, new TextEncoder().encode(text.slice(0, crcAt)).length)) !== parseInt(crcMatch[1]!, 16)) return err("crc_mismatch");
  const lines = text.slice(0, crcAt).split("\n");
  if (lines[0] !== MAGIC_LINE || lines.length !== 7 || lines[6] !== "") return err("malformed");
  const field = (line: string | undefined, name: string): string[] | null => {
    const parts = (line ?? "").split(" ");
    return parts[0] === name ? parts.slice(1) : null;
  };
  const recoveryPoint = parseOffset(field(lines[1], "recovery-point")?.[0]);
  const logStartOffset = parseOffset(field(lines[2], "log-start-offset")?.[0]);
  const logEndOffset = parseOffset(field(lines[3], "log-end-offset")?.[0]);
  const clean = field(lines[4], "clean")?.[0];
  const active = field(lines[5], "active-segment");
  const activeBase = parseOffset(active?.[0]);
  const activeBytes = parseOffset(active?.[1]);
  const ctime = active?.[2];
  if (
    recoveryPoint === null || logStartOffset === null || logEndOffset === null || activeBase === null ||
    activeBytes === null || (clean !== "0" && clean !== "1") || ctime === undefined || !/^\d{1,24}$/.test(ctime)
  ) {
    return err("malformed");
  }
  return ok({
    recoveryPoint,
    logStartOffset,
    logEndOffset,
    clean: clean === "1",
    activeSegmentBaseOffset: activeBase,
    activeSegmentBytes: activeBytes,
    activeSegmentCtimeNs: BigInt(ctime),
  });
}

/** Reads the checkpoint of a partition directory; never throws on bad contents. */
export function readCheckpoint(dir: string): Result<PartitionCheckpoint, CheckpointError> {
  const bytes = readBoundedFile(join(dir, CHECKPOINT_FILE_NAME), CHECKPOINT_BYTES_MAX);
  return bytes.ok ? decodeCheckpoint(bytes.value) : bytes;
}

/** Writes the checkpoint atomically: temp file, fdatasync, rename, directory fsync (off the event loop). */
export async function writeCheckpoint(dir: string, checkpoint: PartitionCheckpoint): Promise<void> {
  await writeFileAtomically(dir, CHECKPOINT_FILE_NAME, encodeCheckpoint(checkpoint));
}

/** Blocking variant of writeCheckpoint for close paths. */
export function writeCheckpointNow(dir: string, checkpoint: PartitionCheckpoint): void {
  writeFileAtomicallyNow(dir, CHECKPOINT_FILE_NAME, encodeCheckpoint(checkpoint));
}
