// The CRC-32C worker of the consumer (started by crc-verifier.ts): computes the CRC-32C of byte ranges of a
// SharedArrayBuffer the consumer's thread filled, last range first, writing each into a shared results array as
// soon as it is known, then answers with the request's id, after which the consumer's thread may reuse both
// buffers. Last first: the consumer's thread decodes the batches first to last and computes inline the CRCs the
// worker has not published yet, so the two work from opposite ends and meet, without summing a batch twice.
//
//   request  { id, bytes: SharedArrayBuffer, ranges: Int32Array, results: SharedArrayBuffer }
//            ranges:  [start0, end0, start1, end1, ...]          byte ranges of `bytes`
//            results: Int32Array [done, crc0, crc1, ...]         crc_i (the uint32's bits) is written, then `done`
//                                                                 (Atomics.store) becomes count - i: ranges i and
//                                                                 after are summed
//   answer   { id }                                               every range is summed
import { parentPort } from "node:worker_threads";
import { crc32c } from "../../core/formats/crc32c.ts";

/** What the consumer's thread sends: which ranges of which buffer to sum, and where the CRCs go. */
export interface CrcRequest {
  readonly id: number;
  readonly bytes: SharedArrayBuffer;
  readonly ranges: Int32Array;
  readonly results: SharedArrayBuffer;
}

/** What the worker answers once every range of request `id` is summed. */
export interface CrcAnswer {
  readonly id: number;
}

// The verifier checked every range against the buffers' sizes before posting; a range outside them is a bug
// there, and an exception here ends the worker (its "error" event sends every later check inline).
function sum(request: CrcRequest): CrcAnswer {
  const bytes = new Uint8Array(request.bytes);
  const results = new Int32Array(request.results);
  const ranges = request.ranges;
  const count = ranges.length >> 1;
  if (results.length < count + 1) throw new Error(`crc-worker: ${count} ranges, room for ${results.length - 1} results`);
  for (let i = count - 1; i >= 0; i--) {
    const start = ranges[2 * i] as number;
    const end = ranges[2 * i + 1] as number;
    if (start < 0 || end < start || end > bytes.length) throw new Error(`crc-worker: range ${start}..${end} outside ${bytes.length} bytes`);
    results[i + 1] = crc32c(bytes.subarray(start, end)) | 0;
    Atomics.store(results, 0, count - i);
  }
  return { id: request.id };
}

// Started as a node:worker_threads Worker (Node) there is a parentPort; as a Web Worker (Bun), `self` takes messages.
const port = parentPort;
if (port !== null) port.on("message", (request: CrcRequest) => port.postMessage(sum(request)));
else {
  const scope = globalThis as unknown as { onmessage: ((event: MessageEvent<CrcRequest>) => void) | null; postMessage(answer: CrcAnswer): void };
  scope.onmessage = (event) => scope.postMessage(sum(event.data));
}
