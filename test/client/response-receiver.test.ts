// ResponseReceiver against a naive oracle (the frames that were written): every way of cutting a stream into reads
// gives the same frames, frames handed out stay intact while later reads land, reads ask for no more than the rest
// of a known frame (or a boundary read), big frames grow instead of being allocated at once, bad prefixes are sticky.
import { describe, expect, test } from "bun:test";
import {
  RECEIVE_BOUNDARY_READ_BYTES,
  RECEIVE_FRAME_PREALLOCATE_BYTES_MAX,
  ResponseReceiver,
} from "../../client/response-receiver.ts";
import { FRAME_LENGTH_BYTES, concatFrameParts, encodeFrame } from "../../core/formats/protocol/frame.ts";

function body(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

function stream(bodies: readonly Uint8Array[]): Uint8Array {
  return concatFrameParts(bodies.map(encodeFrame));
}

// Plays the socket: each read copies at most `piece(i)` bytes of `bytes` into readBuffer(), then drains next().
function feed(receiver: ResponseReceiver, bytes: Uint8Array, piece: (read: number) => number): { frames: Uint8Array[]; readSizes: number[] } {
  const frames: Uint8Array[] = [];
  const readSizes: number[] = [];
  let at = 0;
  for (let read = 0; at < bytes.length; read++) {
    const target = receiver.readBuffer();
    expect(target.length).toBeGreaterThan(0);
    readSizes.push(target.length);
    const n = Math.min(target.length, piece(read), bytes.length - at);
    target.set(bytes.subarray(at, at + n));
    receiver.received(n);
    at += n;
    for (;;) {
      const next = receiver.next();
      if (!next.ok) {
        expect(next.error).toBe("incomplete");
        break;
      }
      frames.push(next.value);
    }
  }
  return { frames, readSizes };
}

describe("ResponseReceiver", () => {
  test("every cut of a stream into reads gives the written frames, and earlier frames stay intact", () => {
    const bodies = [body(1, 1), body(300, 2), body(5, 3), body(70_000, 4), body(2, 5), body(40_000, 6)];
    const bytes = stream(bodies);
    for (const size of [1, 2, 3, 4, 5, 7, 64, 1000, 4096, 65_536, bytes.length]) {
      const { frames } = feed(new ResponseReceiver(1 << 20), bytes, () => size);
      // Compared after the whole stream was read: later reads never overwrote a frame handed out.
      expect(frames).toEqual(bodies);
    }
    // Irregular reads, as a socket gives them.
    const sizes = [3, 1, 9000, 2, 70_001, 17, 5];
    expect(feed(new ResponseReceiver(1 << 20), bytes, (read) => sizes[read % sizes.length]!).frames).toEqual(bodies);
  });

  test("a known frame is read up to its end; at a boundary a read asks for at most RECEIVE_BOUNDARY_READ_BYTES", () => {
    const big = body(1_050_000, 9);
    const receiver = new ResponseReceiver(2 << 20);
    const first = receiver.readBuffer();
    expect(first.length).toBeLessThanOrEqual(RECEIVE_BOUNDARY_READ_BYTES);
    // The prefix and a few body bytes arrive.
    const bytes = stream([big, body(10, 1)]);
    first.set(bytes.subarray(0, 100));
    receiver.received(100);
    expect(receiver.next()).toEqual({ ok: false, error: "incomplete" });
    // The rest of the frame fits the next read exactly (room for it all was made on the prefix).
    const rest = receiver.readBuffer();
    expect(rest.length).toBe(FRAME_LENGTH_BYTES + big.length - 100);
    rest.set(bytes.subarray(100, FRAME_LENGTH_BYTES + big.length));
    receiver.received(rest.length);
    const frame = receiver.next();
    expect(frame.ok && frame.value).toEqual(big);
    expect(receiver.bufferedBytes).toBe(0);
    expect(receiver.readBuffer().length).toBeLessThanOrEqual(RECEIVE_BOUNDARY_READ_BYTES);
  });

  test("a frame larger than the preallocation bound grows with its bytes instead of being allocated at once", () => {
    const large = body(RECEIVE_FRAME_PREALLOCATE_BYTES_MAX + 1000, 7);
    const bytes = stream([large]);
    const receiver = new ResponseReceiver(RECEIVE_FRAME_PREALLOCATE_BYTES_MAX * 2);
    const { frames, readSizes } = feed(receiver, bytes, () => 512 * 1024);
    expect(frames).toEqual([large]);
    // No read was offered the whole frame up front.
    expect(Math.max(...readSizes)).toBeLessThan(bytes.length);
  });

  test("a zero, negative or over-limit length is an error that sticks", () => {
    for (const [prefix, error] of [
      [[0, 0, 0, 0], "bad_length"],
      [[0x80, 0, 0, 1], "bad_length"],
      [[0, 0, 1, 1], "too_large"],
    ] as const) {
      const receiver = new ResponseReceiver(256);
      const target = receiver.readBuffer();
      target.set([...prefix, 1, 2, 3]);
      receiver.received(7);
      expect(receiver.next()).toEqual({ ok: false, error });
      receiver.received(0);
      expect(receiver.next()).toEqual({ ok: false, error });
    }
  });

  test("a frame of exactly the limit is accepted; frames are plain Uint8Arrays", () => {
    const exact = body(256, 3);
    const { frames } = feed(new ResponseReceiver(256), stream([exact, exact]), () => 100);
    expect(frames).toEqual([exact, exact]);
    expect(frames[0]!.constructor).toBe(Uint8Array);
  });
});
