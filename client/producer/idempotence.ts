// The client side of the idempotent producer (Kafka's TransactionManager, idempotent part): the producer id and
// epoch from InitProducerId, and the stamping of a finished batch with them and its partition's sequence.
//
// Stamping patches three header fields of the finished RecordBatch v2 bytes and updates the CRC-32C, which
// covers them (core/formats/record-batch-header.ts):
//
//   ... | producerId i64 @43 | producerEpoch i16 @51 | baseSequence i32 @53 | recordsCount i32 @57 | records ...
//         ^ CRC-32C @17 covers attributes @21 .. end
//
// The CRC is updated, not recomputed: CRC-32C is linear, so for two messages of one length that differ only in
// those 14 bytes, crc(new) = crc(old) ^ raw(delta), where raw(delta) is the register (zero start, no final xor)
// after the 14 xored bytes, carried over the n bytes that follow them by multiplying by x^(8n) modulo the
// polynomial (zlib's crc32_combine method). That is a few hundred operations whatever the batch size, where a
// full recomputation reads the whole batch again (bench/producer.bench.ts "idempotence" measures both).
//
// A batch is stamped once, when the sender first sends it; every retry resends those exact bytes with the same
// sequence, so the broker can answer a resend of a batch it already wrote with the original offset. The only time a
// batch is stamped again is when it was definitely not written and its partition's sequences start over under a
// new epoch (client/producer/sender.ts says when).
//
// Epochs (KIP-360 for producers without a transactional id): the client bumps its own epoch when a partition's
// sequences must start over (a batch with a sequence failed for good, or the broker lost the partition's state);
// at PRODUCER_EPOCH_MAX it asks InitProducerId for a fresh producer id instead. The broker accepts a higher epoch
// only at sequence 0, so each partition moves to the new epoch (sequence 0) once none of its batches with
// old-epoch sequences is unresolved, as Kafka's maybeUpdateProducerIdAndEpoch does.
import { assert } from "../../core/assert.ts";
import { crc32c } from "../../core/formats/crc32c.ts";
import { ErrorCode } from "../../core/formats/protocol/errors.ts";
import { BASE_SEQUENCE_OFFSET, ATTRIBUTES_OFFSET, CRC_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, RECORD_BATCH_HEADER_BYTES } from "../../core/formats/record-batch-header.ts";
import { protocolError } from "../errors.ts";

/**
 * Batches of one partition that may be unresolved at once with idempotence on: the broker remembers a producer's
 * last 5 batches per partition (Kafka's NUM_BATCHES_TO_RETAIN), so only a resend of one of those is recognised
 * as a duplicate.
 */
export const IDEMPOTENT_BATCHES_IN_FLIGHT_MAX = 5;
/** Largest sequence number (Java's Integer.MAX_VALUE); the next one after it is 0. */
export const SEQUENCE_MAX = 0x7fffffff;
/** Largest producer epoch (Java's Short.MAX_VALUE); past it the producer asks for a new producer id. */
export const PRODUCER_EPOCH_MAX = 0x7fff;
/** transactionTimeoutMs sent in InitProducerId without a transactional id (ignored by the broker; Kafka's default). */
export const INIT_PRODUCER_ID_TRANSACTION_TIMEOUT_MS = 60_000;

/** A producer id and epoch as InitProducerId returned them (or as bumped here). */
export interface ProducerIdAndEpoch {
  readonly producerId: number;
  readonly epoch: number;
}

/** `sequence + increment`, wrapping past SEQUENCE_MAX to 0 (Kafka's DefaultRecordBatch.incrementSequence). */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > SEQUENCE_MAX - increment) return increment - (SEQUENCE_MAX - sequence) - 1;
  return sequence + increment;
}

// The stamped fields, contiguous: producerId, producerEpoch, baseSequence.
const STAMP_OFFSET = PRODUCER_ID_OFFSET;
const STAMP_BYTES = BASE_SEQUENCE_OFFSET + 4 - PRODUCER_ID_OFFSET;
assert(PRODUCER_EPOCH_OFFSET === PRODUCER_ID_OFFSET + 8 && BASE_SEQUENCE_OFFSET === PRODUCER_EPOCH_OFFSET + 2, "the producer fields are contiguous");

const POLY_REFLECTED = 0x82f63b78;
// Bytewise table of the reflected polynomial: TABLE[b] is the register after byte b from a zero register.
const TABLE = (() => {
  const table = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    table[b] = c;
  }
  return table;
})();

// a * b modulo the polynomial, both reflected (bit 31 is x^0): zlib's multmodp.
function multiplyModPoly(a: number, b: number): number {
  let m = 0x80000000;
  let product = 0;
  for (;;) {
    if ((a & m) !== 0) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY_REFLECTED : b >>> 1;
  }
  return product >>> 0;
}

// X_POWERS[k] = x^(2^k) modulo the polynomial (reflected), for k in 0..31: zlib's x2n_table.
const X_POWERS = (() => {
  const powers = new Array<number>(32);
  let p = 0x40000000; // x^1
  for (let k = 0; k < 32; k++) {
    powers[k] = p;
    p = multiplyModPoly(p, p);
  }
  return powers;
})();

// The register `register` carried over `zeroBytes` zero bytes: register * x^(8 * zeroBytes) modulo the polynomial.
function shiftOverZeros(register: number, zeroBytes: number): number {
  let power = 0x80000000; // x^0
  let k = 3; // x^(2^3) = x^8: one byte
  for (let n = zeroBytes; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) power = multiplyModPoly(X_POWERS[k & 31]!, power);
  return multiplyModPoly(power, register);
}

/** Writes producer id, epoch and base sequence into finished batch bytes and updates their CRC-32C to match. */
export function stampBatch(bytes: Uint8Array, producerId: number, epoch: number, baseSequence: number): void {
  assert(bytes.length >= RECORD_BATCH_HEADER_BYTES, "a finished batch holds a whole header");
  assert(Number.isSafeInteger(producerId) && producerId >= 0, "producer id out of range");
  assert(Number.isInteger(epoch) && epoch >= 0 && epoch <= PRODUCER_EPOCH_MAX, "producer epoch out of range");
  assert(Number.isInteger(baseSequence) && baseSequence >= 0 && baseSequence <= SEQUENCE_MAX, "sequence out of range");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const before = bytes.slice(STAMP_OFFSET, STAMP_OFFSET + STAMP_BYTES);
  view.setBigInt64(PRODUCER_ID_OFFSET, BigInt(producerId));
  view.setInt16(PRODUCER_EPOCH_OFFSET, epoch);
  view.setInt32(BASE_SEQUENCE_OFFSET, baseSequence);
  let register = 0;
  for (let i = 0; i < STAMP_BYTES; i++) register = TABLE[(register ^ before[i]! ^ bytes[STAMP_OFFSET + i]!) & 0xff]! ^ (register >>> 8);
  const delta = shiftOverZeros(register >>> 0, bytes.length - (STAMP_OFFSET + STAMP_BYTES));
  view.setUint32(CRC_OFFSET, (view.getUint32(CRC_OFFSET) ^ delta) >>> 0);
}

/** The same as stampBatch, recomputing the CRC-32C over the whole batch (the oracle of stampBatch's update). */
export function stampBatchRecomputed(bytes: Uint8Array, producerId: number, epoch: number, baseSequence: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setBigInt64(PRODUCER_ID_OFFSET, BigInt(producerId));
  view.setInt16(PRODUCER_EPOCH_OFFSET, epoch);
  view.setInt32(BASE_SEQUENCE_OFFSET, baseSequence);
  view.setUint32(CRC_OFFSET, crc32c(bytes.subarray(ATTRIBUTES_OFFSET)));
}

/** Asks a broker for a producer id; resolves with it or rejects with a RivuletError. */
export type InitProducerIdCall = () => Promise<ProducerIdAndEpoch>;

/**
 * The producer id and epoch of one producer: fetched once (lazily, or at connect), bumped when a partition's
 * sequences must start over, fetched again when the epoch runs out.
 */
export class ProducerIdentity {
  private current: ProducerIdAndEpoch | null = null;
  private loading: Promise<void> | null = null;
  /** The last InitProducerId failure (for error messages), or null. */
  lastError: Error | null = null;
  /** Epoch bumps so far (for tests and metrics). */
  bumps = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly init: InitProducerIdCall,
    /** Called when an id arrived or a fetch failed (the sender runs again). */
    private readonly onChange: () => void,
    /** Wait after a failed fetch before the next one (the fetch itself retries with the client's backoff). */
    private readonly retryBackoffMs: number,
  ) {}

  /** Stops the retry timer; no fetch starts after this. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** The id and epoch to stamp new sequences with, or null while none is known. */
  get value(): ProducerIdAndEpoch | null {
    return this.current;
  }

  /** Starts InitProducerId unless an id is known or a fetch runs; resolves when it settled (never rejects). */
  ensure(): Promise<void> {
    if (this.current !== null || this.stopped || this.retryTimer !== null) return Promise.resolve();
    if (this.loading !== null) return this.loading;
    this.loading = this.init().then(
      (answer) => {
        this.loading = null;
        if (!(Number.isSafeInteger(answer.producerId) && answer.producerId >= 0 && answer.epoch >= 0 && answer.epoch <= PRODUCER_EPOCH_MAX)) {
          this.lastError = protocolError(ErrorCode.UNKNOWN_SERVER_ERROR, null, `InitProducerId answered an impossible producer id ${answer.producerId} epoch ${answer.epoch}`);
        } else {
          this.current = { producerId: answer.producerId, epoch: answer.epoch };
          this.lastError = null;
        }
        this.onChange();
      },
      (error: unknown) => {
        this.loading = null;
        this.lastError = error instanceof Error ? error : new Error(String(error));
        if (this.stopped) return;
        // The next attempt waits: a broker that is away would otherwise be asked in a tight loop.
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.onChange();
        }, this.retryBackoffMs);
      },
    );
    return this.loading;
  }

  /**
   * Moves to the next epoch (KIP-360): every partition's sequences then start over at 0 once its unresolved
   * batches are settled. At PRODUCER_EPOCH_MAX the id is dropped and a fresh one is fetched instead.
   */
  bump(): void {
    const current = this.current;
    if (current === null) return;
    this.bumps++;
    if (current.epoch >= PRODUCER_EPOCH_MAX) {
      this.current = null;
      void this.ensure();
      return;
    }
    this.current = { producerId: current.producerId, epoch: current.epoch + 1 };
  }
}
