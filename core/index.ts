// Public exports of core/: what tools, the server and the SDK share.
export { crc32c } from "./formats/crc32c.ts";
export { type Result } from "./formats/result.ts";
export { compressLz4Frame, decompressLz4Frame } from "./formats/lz4-frame.ts";
export {
  CODEC_GZIP,
  CODEC_LZ4,
  CODEC_NAMES,
  CODEC_NONE,
  CODEC_SNAPPY,
  CODEC_ZSTD,
  type CodecError,
  type CodecName,
  codecId,
  compressRecords,
  decompressRecords,
  isCodecSupported,
} from "./formats/codecs.ts";
export {
  type BatchFrameError,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  patchBaseOffset,
  readBatchFrame,
} from "./formats/record-batch-header.ts";
export {
  CONTROL_TYPE_ABORT,
  CONTROL_TYPE_COMMIT,
  type DecodedRecord,
  type DecodedRecordBatch,
  RecordBatchBuilder,
  type RecordBatchError,
  type RecordBatchInput,
  type RecordBatchOptions,
  type RecordBatchReadOptions,
  type RecordBatchSummary,
  RecordCursor,
  type RecordHeader,
  type RecordHeaderInput,
  type RecordInput,
  controlRecord,
  decodeRecordBatch,
  encodeRecordBatch,
  openRecordCursor,
  readControlRecord,
  validateRecordBatch,
} from "./formats/record-batch.ts";
export { type VarintError, decodeVarint, decodeVarlong, varintSize, varlongSize, writeVarint, writeVarlong } from "./formats/varint.ts";
