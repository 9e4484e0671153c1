// Small files the engine must never see half-written (checkpoints, the swap manifest, topic metadata, the cleaner
// checkpoint), and directory fsyncs. One implementation of "write a temp file, sync it, rename it over the old
// one, sync the directory", so every metadata file gets the same crash behaviour: the old contents or the new,
// never a mix. Reads are bounded before anything is allocated.
import * as fs from "node:fs";
import { join } from "node:path";
import { type Result, err, ok } from "../formats/result.ts";

/** Suffix of the temporary file a write goes through; a leftover one is from an interrupted write. */
export const TEMPORARY_FILE_SUFFIX = ".tmp";

/** fsyncs a directory, so that creations, renames and deletions in it are durable (off the event loop). */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = await new Promise<number>((resolve, reject) => fs.open(dir, "r", (error, fd) => (error ? reject(error) : resolve(fd))));
  try {
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve())));
  } finally {
    fs.closeSync(fd);
  }
}

/** Blocking directory fsync (close and recovery paths). */
export function syncDirectoryNow(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Replaces `dir/name` with `bytes` (text is written as UTF-8) atomically and durably; the syncs run off the event loop. */
export async function writeFileAtomically(dir: string, name: string, bytes: Uint8Array | string): Promise<void> {
  const path = join(dir, name);
  const temporary = path + TEMPORARY_FILE_SUFFIX;
  const fd = fs.openSync(temporary, "w", 0o644);
  try {
    writeAll(fd, bytes);
    await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, path);
  await syncDirectory(dir);
}

/** Blocking variant of writeFileAtomically, for close paths that must finish before the process exits. */
export function writeFileAtomicallyNow(dir: string, name: string, bytes: Uint8Array | string): void {
  const path = join(dir, name);
  const temporary = path + TEMPORARY_FILE_SUFFIX;
  const fd = fs.openSync(temporary, "w", 0o644);
  try {
    writeAll(fd, bytes);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, path);
  syncDirectoryNow(dir);
}

/** Why a small file could not be read: it is not there, or it is larger than its bound. */
export type BoundedReadError = "missing" | "too_large";

/** Reads a whole small file after checking its size against `maxBytes`. I/O errors other than ENOENT throw. */
export function readBoundedFile(path: string, maxBytes: number): Result<Uint8Array, BoundedReadError> {
  let size: number;
  try {
    size = fs.statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return err("missing");
    throw error;
  }
  if (size > maxBytes) return err("too_large");
  return ok(new Uint8Array(fs.readFileSync(path)));
}

function writeAll(fd: number, contents: Uint8Array | string): void {
  const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents;
  let written = 0;
  while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
}
