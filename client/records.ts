// The shapes of records going in (producer) and coming out (consumer), shared by every part of the SDK, and the
// helpers that turn text into bytes and back. Keys and values go in as strings or bytes and come out as bytes:
// the broker never looks inside them, and a consumer decides how to read them (`text(message.value)`).
import type { RecordHeader, RecordHeaderInput } from "../core/formats/record-batch.ts";

/** A key or value as a caller hands it in: UTF-8 text, bytes, or null (a null value is a tombstone). */
export type RecordData = string | Uint8Array | null;

/** Record headers as a caller hands them in: an object, or pairs when a key repeats or order matters. */
export type RecordHeadersInput = Readonly<Record<string, string | Uint8Array>> | readonly (readonly [string, string | Uint8Array])[];

/** One record to send. */
export interface MessageInput {
  key?: RecordData;
  value: RecordData;
  headers?: RecordHeadersInput;
  /** Explicit partition; otherwise the partitioner chooses. */
  partition?: number;
  /** Create time in milliseconds since the epoch (default: now). */
  timestamp?: number;
}

/** One header of a consumed record (a key may repeat, so headers come out as a list). */
export type { RecordHeader };

/** One consumed record. */
export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** Create time (or log append time, per the topic's message.timestamp.type) in milliseconds since the epoch. */
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

/** Where one sent record (or batch) landed. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the record (for a batch, of its first record). */
  readonly offset: bigint;
  /** The record's timestamp, or the broker's log append time on LogAppendTime topics. */
  readonly timestamp: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

/** Bytes of a key or value as it goes on the wire (strings as UTF-8); null stays null. */
export function toBytes(data: RecordData | undefined): Uint8Array | null {
  if (data === undefined || data === null) return null;
  if (typeof data === "string") return encoder.encode(data);
  return data;
}

/** UTF-8 text of consumed bytes. */
export function text(bytes: Uint8Array): string;
/** UTF-8 text of consumed bytes; null stays null. */
export function text(bytes: Uint8Array | null): string | null;
export function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : decoder.decode(bytes);
}

/** Header input as a list of `{ key, value }` in order, the shape the record-batch builder takes (no copy). */
export function headerList(headers: RecordHeadersInput | undefined): RecordHeaderInput[] | undefined {
  if (headers === undefined) return undefined;
  const entries: readonly (readonly [string, string | Uint8Array])[] = Array.isArray(headers)
    ? (headers as readonly (readonly [string, string | Uint8Array])[])
    : Object.entries(headers as Record<string, string | Uint8Array>);
  return entries.map(([key, value]) => ({ key, value }));
}

/** The first header named `key` as text, or undefined when there is none (null for a null header value). */
export function headerText(headers: readonly RecordHeader[], key: string): string | null | undefined {
  for (const header of headers) if (header.key === key) return text(header.value);
  return undefined;
}
