// The commit record of a compaction swap. Kafka's protocol (`.cleaned` -> `.swap`, old -> `.deleted`, `.swap` ->
// final) is atomic only for one cleaned segment per swap; writing this manifest first makes a swap of any number
// of segments atomic: once it is durable the swap rolls forward on recovery, before it exists the swap is rolled
// back (the `.cleaned` files are deleted).
//
//   <partitionDir>/rivulet.swap   (text)
//
//   rivulet-swap 1
//   old <base> <base> ...       segments being replaced (ascending)
//   new <base> <base> ...       cleaned segments replacing them (ascending)
//   crc32c <8 hex digits>       CRC-32C of every byte before this line
import { join } from "node:path";
import { crc32c } from "../formats/crc32c.ts";
import { type Result, err, ok } from "../formats/result.ts";
import { type Offset, asOffset } from "./offsets.ts";
import { readBoundedFile, writeFileAtomically } from "./durable-file.ts";

/** File name of the manifest inside the partition directory. */
export const SWAP_MANIFEST_FILE_NAME = "rivulet.swap";
/** Most segments one swap may name on either side (bounds the manifest and the recovery work). */
export const SWAP_SEGMENTS_MAX = 4096;
// Each base offset takes at most 17 characters with its separator.
const SWAP_MANIFEST_BYTES_MAX = 64 + 2 * SWAP_SEGMENTS_MAX * 17;

/** What a swap replaces and with what. */
export interface SwapManifest {
  oldBaseOffsets: Offset[];
  newBaseOffsets: Offset[];
}

/** Why a manifest could not be read (a torn manifest never committed: the swap rolls back). */
export type SwapManifestError = "missing" | "too_large" | "malformed" | "crc_mismatch";

/** Serializes a manifest. */
export function encodeSwapManifest(manifest: SwapManifest): string {
  const body = `rivulet-swap 1\nold ${manifest.oldBaseOffsets.join(" ")}\nnew ${manifest.newBaseOffsets.join(" ")}\n`;
  return `${body}crc32c ${crc32c(new TextEncoder().encode(body)).toString(16).padStart(8, "0")}\n`;
}

function parseList(line: string | undefined, name: string): Offset[] | null {
  if (line === undefined || !line.startsWith(name + " ")) return null;
  const parts = line.slice(name.length + 1).split(" ");
  if (parts.length > SWAP_SEGMENTS_MAX) return null;
  const out: Offset[] = [];
  for (const part of parts) {
    if (!/^\d{1,16}$/.test(part)) return null;
    out.push(asOffset(Number(part)));
  }
  return out;
}

/** Parses manifest bytes; never throws. */
export function decodeSwapManifest(bytes: Uint8Array): Result<SwapManifest, SwapManifestError> {
  if (bytes.length > SWAP_MANIFEST_BYTES_MAX) return err("too_large");
  const text = new TextDecoder().decode(bytes);
  const lines = text.split("\n");
  if (lines.length !== 5 || lines[0] !== "rivulet-swap 1" || lines[4] !== "") return err("malformed");
  const crcMatch = /^crc32c ([0-9a-f]{8})$/.exec(lines[3]!);
  if (crcMatch === null) return err("malformed");
  const body = `${lines[0]}\n${lines[1]}\n${lines[2]}\n`;
  if (crc32c(new TextEncoder().encode(body)) !== parseInt(crcMatch[1]!, 16)) return err("crc_mismatch");
  const oldBaseOffsets = parseList(lines[1], "old");
  const newBaseOffsets = parseList(lines[2], "new");
  if (oldBaseOffsets === null || newBaseOffsets === null) return err("malformed");
  return ok({ oldBaseOffsets, newBaseOffsets });
}

/** Reads the manifest of a partition directory, if any; never throws on bad contents. */
export function readSwapManifest(dir: string): Result<SwapManifest, SwapManifestError> {
  const bytes = readBoundedFile(join(dir, SWAP_MANIFEST_FILE_NAME), SWAP_MANIFEST_BYTES_MAX);
  return bytes.ok ? decodeSwapManifest(bytes.value) : bytes;
}

/** Writes the manifest durably (temp file, fdatasync, rename, directory fsync): the swap's commit point. */
export async function writeSwapManifest(dir: string, manifest: SwapManifest): Promise<void> {
  await writeFileAtomically(dir, SWAP_MANIFEST_FILE_NAME, encodeSwapManifest(manifest));
}
