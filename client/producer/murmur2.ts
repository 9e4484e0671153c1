// Kafka's key hash: Utils.murmur2 of the Java client (MurmurHash2, 32-bit, seed 0x9747b28c), byte for byte, so a
// keyed record lands on the partition a Java, librdkafka ("murmur2_random") or KafkaJS producer would choose:
// partition = (murmur2(keyBytes) & 0x7fffffff) % numPartitions (Utils.toPositive, BuiltInPartitioner.partitionForKey).
// Keys given as strings hash their UTF-8 bytes, as a Java producer with StringSerializer would.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

const encoder = new TextEncoder();

// One 4-byte block folded into the hash state (Java's int arithmetic: Math.imul wraps at 32 bits as Java does).
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, M);
  k ^= k >>> R;
  k = Math.imul(k, M);
  return Math.imul(h, M) ^ k;
}

function finish(h: number): number {
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.murmur2 of `data`: a signed 32-bit hash. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const blocksEnd = length & ~3;
  for (let i = 0; i < blocksEnd; i += 4) {
    h = mixBlock(h, data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
  }
  // Java's switch falls through: 3 tail bytes mix all three, then multiply once.
  const tail = length & 3;
  if (tail === 3) h ^= data[blocksEnd + 2]! << 16;
  if (tail >= 2) h ^= data[blocksEnd + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[blocksEnd]!, M);
  return finish(h);
}

// HOT PATH (bench/producer.bench.ts keyed rows): ASCII keys, the common case, hash their char codes in place
// instead of allocating their UTF-8 bytes.
function murmur2Ascii(text: string): number {
  const length = text.length;
  let h = SEED ^ length;
  const blocksEnd = length & ~3;
  for (let i = 0; i < blocksEnd; i += 4) {
    h = mixBlock(h, text.charCodeAt(i) | (text.charCodeAt(i + 1) << 8) | (text.charCodeAt(i + 2) << 16) | (text.charCodeAt(i + 3) << 24));
  }
  const tail = length & 3;
  if (tail === 3) h ^= text.charCodeAt(blocksEnd + 2) << 16;
  if (tail >= 2) h ^= text.charCodeAt(blocksEnd + 1) << 8;
  if (tail >= 1) h = Math.imul(h ^ text.charCodeAt(blocksEnd), M);
  return finish(h);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Kafka's murmur2 of a key as it goes on the wire: bytes as they are, strings as UTF-8. */
export function murmur2Key(key: Uint8Array | string): number {
  if (typeof key !== "string") return murmur2(key);
  return isAscii(key) ? murmur2Ascii(key) : murmur2(encoder.encode(key));
}

/** The partition Kafka's Java client picks for a key: toPositive(murmur2(key)) % numPartitions. */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  return (murmur2Key(key) & 0x7fffffff) % numPartitions;
}
