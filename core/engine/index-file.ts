// The storage shared by `.index` and `.timeindex`: a growable in-memory copy of fixed-size entries plus the file
// they are persisted to. Kafka mmaps index files preallocated to segment.index.bytes; we keep the entries in a
// buffer that grows by doubling up to that bound, append new entries to the file when the log is flushed, and
// can drop the buffer of an inactive segment (it is reloaded from the file on the next lookup). Indexes are
// caches of the log: a file that fails its sanity check is never used, the segment rebuilds it from the log.
import * as fs from "node:fs";
import { assert } from "../assert.ts";

// First allocation of an index buffer: 64 entries, enough for a 256 KiB segment at the default interval.
const INITIAL_ENTRIES = 64;

/** Why an index file could not be loaded; the caller rebuilds the index from the log. */
export type IndexLoadError = "missing" | "too_large" | "bad_size" | "garbled";

/** Entries of one index file, in memory and on disk. */
export class IndexFile {
  private buffer: Uint8Array = new Uint8Array(0);
  /** Entries held in memory (valid only while loaded). */
  count = 0;
  // Entries already written to the file; entries past it are written by persist().
  private persistedCount = 0;
  // The file no longer matches a prefix of the buffer (rebuilt or truncated): persist() rewrites it whole.
  private rewriteNeeded = false;
  // Entries written since the last fdatasync.
  private unsynced = false;
  private fd: number | null = null;
  /** True when `buffer` holds the entries (otherwise they are only on disk and load() must run first). */
  loaded = false;

  constructor(
    /** Current path of the file (changes when the segment's files are renamed). */
    public path: string,
    /** Bytes per entry. */
    readonly entryBytes: number,
    /** Largest number of entries (segment.index.bytes / entryBytes). */
    readonly maxEntries: number,
  ) {
    assert(maxEntries >= 1, "an index must hold at least one entry");
  }

  /** Starts an empty index whose file will be (re)written on the next persist(). */
  resetEmpty(): void {
    this.count = 0;
    this.persistedCount = 0;
    this.rewriteNeeded = true;
    this.unsynced = true;
    this.loaded = true;
  }

  /** Reads the file into memory after checking its size; the caller then checks the entries' order. */
  loadRaw(): IndexLoadError | null {
    let bytes: Buffer;
    try {
      const size = fs.statSync(this.path).size;
      if (size > this.maxEntries * this.entryBytes) return "too_large";
      if (size % this.entryBytes !== 0) return "bad_size";
      bytes = fs.readFileSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
      throw error;
    }
    if (bytes.length % this.entryBytes !== 0 || bytes.length > this.maxEntries * this.entryBytes) return "bad_size";
    this.count = bytes.length / this.entryBytes;
    this.buffer = new Uint8Array(Math.max(bytes.length, INITIAL_ENTRIES * this.entryBytes));
    this.buffer.set(bytes);
    this.persistedCount = this.count;
    this.rewriteNeeded = false;
    this.loaded = true;
    return null;
  }

  /** Reads only the last entry from the file without loading the index, or null if there is none. */
  readLastEntryFromFile(): Uint8Array | null {
    let fd: number;
    try {
      fd = fs.openSync(this.path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.entryBytes || size % this.entryBytes !== 0 || size > this.maxEntries * this.entryBytes) return null;
      const entry = new Uint8Array(this.entryBytes);
      if (fs.readSync(fd, entry, 0, this.entryBytes, size - this.entryBytes) !== this.entryBytes) return null;
      return entry;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The in-memory entries (the first count * entryBytes bytes are valid). */
  entries(): Uint8Array {
    assert(this.loaded, "index not loaded");
    return this.buffer;
  }

  /** True when no more entries fit. */
  isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** Reserves the next slot and returns it; the caller writes the entry bytes into entries(). */
  nextSlot(): number {
    assert(this.loaded, "index not loaded");
    assert(this.count < this.maxEntries, "index full");
    const needed = (this.count + 1) * this.entryBytes;
    if (needed > this.buffer.length) {
      const grown = new Uint8Array(Math.min(Math.max(needed, this.buffer.length * 2, INITIAL_ENTRIES * this.entryBytes), this.maxEntries * this.entryBytes));
      grown.set(this.buffer.subarray(0, this.count * this.entryBytes));
      this.buffer = grown;
    }
    return this.count++;
  }

  /** Keeps only the first `count` entries (memory now; the file on the next persist()). */
  truncateEntries(count: number): void {
    assert(this.loaded && count >= 0 && count <= this.count, "index truncation out of range");
    if (count === this.count) return;
    this.count = count;
    if (count < this.persistedCount) {
      this.persistedCount = count;
      this.rewriteNeeded = true;
    }
    this.unsynced = true;
  }

  private openFd(): number {
    if (this.fd === null) this.fd = fs.openSync(this.path, "a+");
    return this.fd;
  }

  /** Writes entries not yet in the file to the OS (the whole file if it was rebuilt). */
  persist(): void {
    if (!this.loaded) return;
    if (!this.rewriteNeeded && this.persistedCount === this.count) return;
    const fd = this.openFd();
    let from = this.persistedCount;
    if (this.rewriteNeeded) {
      fs.ftruncateSync(fd, 0);
      from = 0;
    }
    const bytes = this.buffer.subarray(from * this.entryBytes, this.count * this.entryBytes);
    let written = 0;
    // O_APPEND: every write lands at the current end of the file.
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    this.persistedCount = this.count;
    this.rewriteNeeded = false;
    this.unsynced = true;
  }

  /** fdatasyncs the file if anything was written since the last sync (off the event loop). */
  async sync(): Promise<void> {
    if (!this.unsynced) return;
    this.persist();
    this.unsynced = false;
    const fd = this.openFd();
    await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
  }

  /** Same as sync() but blocking; used by close paths that must finish before returning. */
  syncNow(): void {
    if (!this.unsynced) return;
    this.persist();
    this.unsynced = false;
    fs.fdatasyncSync(this.openFd());
  }

  /** Drops the in-memory entries if the file holds them all (the index reloads lazily). */
  unload(): boolean {
    if (!this.loaded || this.rewriteNeeded || this.persistedCount !== this.count) return false;
    this.buffer = new Uint8Array(0);
    this.loaded = false;
    this.closeFd();
    return true;
  }

  /** Bytes of memory this index holds. */
  memoryBytes(): number {
    return this.buffer.length;
  }

  /** Closes the file descriptor (entries stay in memory). */
  closeFd(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}
