import { describe, expect, test } from "bun:test";
import {
  FRAME_LENGTH_BYTES,
  FrameReader,
  HANDSHAKE_FRAME_BYTES_MAX,
  RECYCLED_FRAME_BYTES_MAX,
  SOCKET_REQUEST_MAX_BYTES_DEFAULT,
  concatFrameParts,
  encodeFrame,
  framePartsBytes,
  writeFrameLength,
} from "../../../../core/formats/protocol/frame.ts";
import { patternBytes } from "./samples.ts";

// A stream of frames with bodies of assorted sizes, and the bodies themselves.
function stream(sizes: number[]): { bytes: Uint8Array; bodies: Uint8Array[] } {
  const bodies = sizes.map((size, i) => patternBytes(size, i + 1));
  return { bytes: concatFrameParts(bodies.map(encodeFrame)), bodies };
}

// Drains every frame available now; returns them and the error that stopped the loop.
function drain(reader: FrameReader): { frames: Uint8Array[]; stop: string } {
  const frames: Uint8Array[] = [];
  for (;;) {
    const next = reader.next();
    if (!next.ok) return { frames, stop: next.error };
    frames.push(next.value);
  }
}

function prefix(length: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_LENGTH_BYTES);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

describe("FrameReader", () => {
  test("limits: Kafka's socket.request.max.bytes default and a small handshake limit", () => {
    expect(SOCKET_REQUEST_MAX_BYTES_DEFAULT).toBe(104857600);
    expect(HANDSHAKE_FRAME_BYTES_MAX).toBeLessThan(SOCKET_REQUEST_MAX_BYTES_DEFAULT);
    expect(new FrameReader().maxFrameBytes).toBe(SOCKET_REQUEST_MAX_BYTES_DEFAULT);
  });

  test("frames that arrive whole inside one chunk are subarrays of it, without copying", () => {
    const { bytes, bodies } = stream([1, 5, 300, 4096]);
    const reader = new FrameReader();
    reader.push(bytes);
    const { frames, stop } = drain(reader);
    expect(stop).toBe("incomplete");
    expect(frames).toEqual(bodies);
    for (const frame of frames) expect(frame.buffer).toBe(bytes.buffer);
    expect(reader.bufferedBytes).toBe(0);
  });

  test("a stream cut at every position into two chunks yields the same frames", () => {
    const { bytes, bodies } = stream([1, 2, 17, 250, 3, 130]);
    for (let cut = 0; cut <= bytes.byteLength; cut++) {
      const reader = new FrameReader();
      reader.push(bytes.subarray(0, cut));
      const first = drain(reader);
      expect(first.stop).toBe("incomplete");
      reader.push(bytes.subarray(cut));
      const second = drain(reader);
      expect(second.stop).toBe("incomplete");
      expect([...first.frames, ...second.frames]).toEqual(bodies);
      expect(reader.bufferedBytes).toBe(0);
    }
  });

  test("every prefix yields exactly the frames it holds whole, then 'incomplete'", () => {
    const { bytes, bodies } = stream([3, 40, 1, 200]);
    const ends: number[] = [];
    let position = 0;
    for (const body of bodies) {
      position += FRAME_LENGTH_BYTES + body.byteLength;
      ends.push(position);
    }
    for (let length = 0; length <= bytes.byteLength; length++) {
      const reader = new FrameReader();
      reader.push(bytes.slice(0, length));
      const { frames, stop } = drain(reader);
      expect(stop).toBe("incomplete");
      expect(frames.length).toBe(ends.filter((end) => end <= length).length);
    }
  });

  test("byte by byte", () => {
    const { bytes, bodies } = stream([1, 9, 70000, 2]);
    const reader = new FrameReader();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < bytes.byteLength; i++) {
      reader.push(bytes.subarray(i, i + 1));
      frames.push(...drain(reader).frames);
    }
    expect(frames).toEqual(bodies);
    // A frame assembled from many chunks is one new buffer, of its size rounded up to a power of two (so it can
    // take a later frame of about the same size, see recycle()).
    expect(frames[2]?.buffer).not.toBe(bytes.buffer);
    expect(frames[2]?.buffer.byteLength).toBe(131_072);
  });

  test("random chunking (seeded) keeps frames intact", () => {
    const { bytes, bodies } = stream([5, 1000, 1, 65536, 77, 2, 3000]);
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 50; round++) {
      const reader = new FrameReader();
      const frames: Uint8Array[] = [];
      for (let position = 0; position < bytes.byteLength; ) {
        const size = 1 + Math.floor(random() * 5000);
        reader.push(bytes.subarray(position, position + size));
        position += size;
        frames.push(...drain(reader).frames);
      }
      expect(frames).toEqual(bodies);
    }
  });

  test("an oversized length prefix is rejected from the 4 prefix bytes alone, before any body is buffered", () => {
    const reader = new FrameReader(1024);
    reader.push(prefix(1025));
    expect(reader.next()).toEqual({ ok: false, error: "too_large" });
    expect(reader.bufferedBytes).toBe(0);
    // Sticky: the stream can not be resynchronised, and later bytes are ignored.
    reader.push(patternBytes(5000));
    expect(reader.next()).toEqual({ ok: false, error: "too_large" });
    expect(reader.bufferedBytes).toBe(0);

    const atLimit = new FrameReader(1024);
    atLimit.push(prefix(1024));
    expect(atLimit.next()).toEqual({ ok: false, error: "incomplete" });
    atLimit.push(new Uint8Array(1024));
    expect(atLimit.next().ok).toBe(true);

    const huge = new FrameReader();
    huge.push(prefix(SOCKET_REQUEST_MAX_BYTES_DEFAULT + 1));
    expect(huge.next()).toEqual({ ok: false, error: "too_large" });
  });

  test("a prefix split across chunks is still checked as soon as its 4th byte arrives", () => {
    const reader = new FrameReader(100);
    const bytes = prefix(0x7fffffff);
    for (let i = 0; i < 3; i++) {
      reader.push(bytes.subarray(i, i + 1));
      expect(reader.next()).toEqual({ ok: false, error: "incomplete" });
    }
    reader.push(bytes.subarray(3));
    expect(reader.next()).toEqual({ ok: false, error: "too_large" });
  });

  test("zero and negative (top bit set) lengths are bad_length", () => {
    for (const length of [0, 0x80000000, 0xffffffff]) {
      const reader = new FrameReader();
      reader.push(prefix(length));
      expect(reader.next()).toEqual({ ok: false, error: "bad_length" });
    }
  });

  test("the limit can be raised after the handshake", () => {
    const reader = new FrameReader(HANDSHAKE_FRAME_BYTES_MAX);
    const big = encodeFrame(patternBytes(HANDSHAKE_FRAME_BYTES_MAX + 1));
    const small = encodeFrame(patternBytes(10));
    reader.push(small);
    expect(reader.next().ok).toBe(true);
    reader.maxFrameBytes = SOCKET_REQUEST_MAX_BYTES_DEFAULT;
    reader.push(big);
    expect(reader.next().ok).toBe(true);
  });

  test("recycle(): a given-back body's buffer takes the next body split across chunks; nothing else is reused", () => {
    const reader = new FrameReader();
    // Pushes one frame of `body` cut in two chunks (so it is assembled), returns the body read.
    const split = (body: Uint8Array): Uint8Array => {
      const frame = encodeFrame(body);
      reader.push(frame.slice(0, 10));
      reader.push(frame.slice(10));
      const next = reader.next();
      if (!next.ok) throw new Error(next.error);
      expect(next.value).toEqual(body);
      return next.value;
    };
    const first = split(patternBytes(100_000, 1));
    // Room for a request of about the same size: a power of two.
    expect(first.buffer.byteLength).toBe(131_072);
    reader.recycle(first);
    const second = split(patternBytes(90_000, 2));
    expect(second.buffer).toBe(first.buffer);
    // Not given back: the next body gets a buffer of its own.
    const third = split(patternBytes(90_000, 3));
    expect(third.buffer).not.toBe(second.buffer);
    expect(second).toEqual(patternBytes(90_000, 2));
    // Given back but too small for the next body: that body gets a new buffer (the small one is dropped).
    reader.recycle(third);
    const fourth = split(patternBytes(200_000, 4));
    expect(fourth.buffer).not.toBe(third.buffer);
    // An older body given back late is ignored: only the last assembled one is taken.
    reader.recycle(second);
    const fifth = split(patternBytes(1000, 5));
    expect(fifth.buffer).not.toBe(second.buffer);
    // A body that is a view of a pushed chunk is never taken: that chunk also holds the next frame's bytes.
    const both = concatFrameParts([encodeFrame(patternBytes(500, 6)), encodeFrame(patternBytes(700, 7))]);
    reader.push(both);
    const inChunk = reader.next();
    expect(inChunk.ok && inChunk.value.buffer === both.buffer).toBe(true);
    if (inChunk.ok) reader.recycle(inChunk.value);
    const rest = reader.next();
    expect(rest.ok && rest.value).toEqual(patternBytes(700, 7));
    const sixth = split(patternBytes(2000, 8));
    expect(sixth.buffer).not.toBe(both.buffer);
  });

  test("recycle(): bodies over RECYCLED_FRAME_BYTES_MAX are not kept", () => {
    const reader = new FrameReader();
    const big = patternBytes(RECYCLED_FRAME_BYTES_MAX + 1, 1);
    const frame = encodeFrame(big);
    reader.push(frame.slice(0, 100));
    reader.push(frame.slice(100));
    const next = reader.next();
    if (!next.ok) throw new Error(next.error);
    expect(next.value.buffer.byteLength).toBe(RECYCLED_FRAME_BYTES_MAX + 1);
    reader.recycle(next.value);
    const small = encodeFrame(patternBytes(1000, 2));
    reader.push(small.slice(0, 10));
    reader.push(small.slice(10));
    const after = reader.next();
    expect(after.ok && after.value.buffer !== next.value.buffer).toBe(true);
    expect(after.ok && after.value).toEqual(patternBytes(1000, 2));
  });

  test("many tiny chunks do not pile up (the chunk queue is compacted)", () => {
    const { bytes, bodies } = stream(Array.from({ length: 3000 }, () => 1));
    const reader = new FrameReader();
    for (let i = 0; i < bytes.byteLength; i++) reader.push(bytes.subarray(i, i + 1));
    const { frames } = drain(reader);
    expect(frames).toEqual(bodies);
    expect(reader.bufferedBytes).toBe(0);
  });
});

describe("frame helpers", () => {
  test("writeFrameLength is big-endian; encodeFrame prefixes the body", () => {
    const target = new Uint8Array(6);
    writeFrameLength(target, 1, 0x01020304);
    expect([...target]).toEqual([0, 1, 2, 3, 4, 0]);
    expect([...encodeFrame(new Uint8Array([9, 8]))]).toEqual([0, 0, 0, 2, 9, 8]);
    expect(() => writeFrameLength(target, 0, 0)).toThrow();
  });

  test("framePartsBytes counts buffers and file ranges; concatFrameParts refuses file ranges", () => {
    expect(framePartsBytes([new Uint8Array(3), { fd: 3, position: 0, length: 10 }])).toBe(13);
    expect(() => concatFrameParts([{ fd: 3, position: 0, length: 10 }])).toThrow();
  });
});
