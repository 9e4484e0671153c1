// Seeded fuzz: 100,000 mutated frames through the frame reader, the envelope decoders and every message decoder.
// Nothing may throw; every outcome must be one of the typed results. The seed is fixed so a failure reproduces;
// set RIVULET_FUZZ_SEED to explore others.
import { expect, test } from "bun:test";
import { decodeResponseBody, decodeResponseEnvelope, encodeRequest, encodeRequestParts, encodeResponse, encodeResponseParts } from "../../../../core/formats/protocol/envelope.ts";
import { FRAME_LENGTH_BYTES, FrameReader, concatFrameParts } from "../../../../core/formats/protocol/frame.ts";
import { APIS, decodeRequest } from "../../../../core/formats/protocol/messages.ts";
import { SAMPLES } from "./samples.ts";
import { seededRandom as generator } from "../../../helpers/seeded-random.ts";

const CASES = 100_000;
const SEED = Number(process.env.RIVULET_FUZZ_SEED ?? 0x5eed);

// mulberry32: small, fast, and good enough to drive mutations.
// Samples with their records cut to a few bytes, so each case mutates a small frame.
function shrink(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.subarray(0, Math.min(value.byteLength, 24));
  if (Array.isArray(value)) return value.map(shrink);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shrink(v)]));
  return value;
}

// Bytes msgpack gives meaning to: type headers at length boundaries, nil, never-used, ext and int64 markers.
const INTERESTING = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc9,
  0xca, 0xcb, 0xcc, 0xcf, 0xd0, 0xd3, 0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];

const header = { apiVersion: 0, correlationId: 3, clientId: "fuzz" };
const requestFrames = SAMPLES.flatMap((sample) => {
  const request = shrink(sample.request);
  return [encodeRequest(sample.api, header, request), concatFrameParts(encodeRequestParts(sample.api, header, request))];
});
const responseFrames = SAMPLES.flatMap((sample) => {
  const response = shrink(sample.response);
  return [encodeResponse(sample.api, 0, 3, response), concatFrameParts(encodeResponseParts(sample.api, 0, 3, response))];
});

function mutate(random: () => number, frame: Uint8Array, others: Uint8Array[]): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n);
  let bytes: Uint8Array = frame.slice();
  let fixPrefix = random() < 0.85;
  const rounds = 1 + pick(3);
  for (let round = 0; round < rounds; round++) {
    const at = FRAME_LENGTH_BYTES + pick(Math.max(1, bytes.byteLength - FRAME_LENGTH_BYTES));
    switch (pick(8)) {
      case 0: // flip bits
        bytes[at] = (bytes[at] ?? 0) ^ (1 << pick(8));
        break;
      case 1: // an interesting byte
        bytes[at] = INTERESTING[pick(INTERESTING.length)] as number;
        break;
      case 2: // a random byte inserted
        bytes = concatFrameParts([bytes.subarray(0, at), new Uint8Array([pick(256)]), bytes.subarray(at)]);
        break;
      case 3: // a byte deleted
        bytes = concatFrameParts([bytes.subarray(0, at), bytes.subarray(at + 1)]);
        break;
      case 4: // truncated
        bytes = bytes.slice(0, pick(bytes.byteLength + 1));
        break;
      case 5: { // a piece of another frame spliced in
        const other = others[pick(others.length)] as Uint8Array;
        const from = pick(other.byteLength);
        bytes = concatFrameParts([bytes.subarray(0, at), other.subarray(from, from + 1 + pick(40)), bytes.subarray(at + 1 + pick(8))]);
        break;
      }
      case 6: // the length prefix itself
        bytes[pick(FRAME_LENGTH_BYTES)] = pick(256);
        fixPrefix = false;
        break;
      default: { // random bytes
        const noise = new Uint8Array(1 + pick(64)).map(() => pick(256));
        bytes = concatFrameParts([bytes.subarray(0, FRAME_LENGTH_BYTES), noise]);
      }
    }
  }
  if (fixPrefix && bytes.byteLength >= FRAME_LENGTH_BYTES) new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, bytes.byteLength - FRAME_LENGTH_BYTES);
  return bytes;
}

test(`${CASES} mutated frames: framer + envelopes + message decoders never throw`, () => {
  const random = generator(SEED);
  const outcomes = new Map<string, number>();
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  const allFrames = [...requestFrames, ...responseFrames];
  const thrown: string[] = [];

  for (let i = 0; i < CASES; i++) {
    const isRequest = random() < 0.5;
    const bases = isRequest ? requestFrames : responseFrames;
    const frame = mutate(random, bases[Math.floor(random() * bases.length)] as Uint8Array, allFrames);
    try {
      const reader = new FrameReader(4096);
      const cut = Math.floor(random() * (frame.byteLength + 1));
      reader.push(frame.subarray(0, cut));
      reader.push(frame.subarray(cut));
      for (;;) {
        const body = reader.next();
        if (!body.ok) {
          count(`frame:${body.error}`);
          break;
        }
        if (isRequest) {
          const decoded = decodeRequest(body.value);
          count(decoded.ok ? "request:ok" : `request:${decoded.error}`);
        } else {
          const envelope = decodeResponseEnvelope(body.value);
          if (!envelope.ok) {
            count(`response:${envelope.error}`);
            continue;
          }
          for (const api of APIS) {
            const decoded = decodeResponseBody(api, 0, envelope.value.body);
            count(decoded.ok ? "response:ok" : `response:${decoded.error}`);
          }
        }
      }
    } catch (error) {
      if (thrown.length < 5) thrown.push(`case ${i}: ${String(error)}`);
      count("threw");
    }
  }

  expect(thrown).toEqual([]);
  const allowed = new Set(["frame:incomplete", "frame:bad_length", "frame:too_large", "request:ok", "request:malformed",
    "request:bad_envelope", "request:too_large", "request:unknown_api_key", "request:unsupported_version", "request:bad_field", "response:ok",
    "response:malformed", "response:bad_envelope", "response:too_large", "response:bad_field"]);
  for (const key of outcomes.keys()) expect(allowed.has(key)).toBe(true);
  // The mutations reach every layer: some frames decode, and each kind of rejection happens.
  for (const key of ["request:ok", "request:malformed", "request:bad_envelope", "request:bad_field", "request:unknown_api_key",
    "response:ok", "response:malformed", "response:bad_field", "frame:incomplete", "frame:too_large"]) {
    expect(outcomes.get(key) ?? 0).toBeGreaterThan(0);
  }
});
