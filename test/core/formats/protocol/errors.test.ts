import { describe, expect, test } from "bun:test";
import { ERROR_TABLE, ErrorCode, RivuletError, errorInfo, isKnownErrorCode } from "../../../../core/formats/protocol/errors.ts";

describe("error table", () => {
  test("codes are Kafka's (checked against Kafka's Errors.java)", () => {
    const expected: Record<string, number> = {
      UNKNOWN_SERVER_ERROR: -1, NONE: 0, OFFSET_OUT_OF_RANGE: 1, CORRUPT_MESSAGE: 2, UNKNOWN_TOPIC_OR_PARTITION: 3,
      INVALID_FETCH_SIZE: 4, LEADER_NOT_AVAILABLE: 5, NOT_LEADER_OR_FOLLOWER: 6, REQUEST_TIMED_OUT: 7,
      MESSAGE_TOO_LARGE: 10, NETWORK_EXCEPTION: 13, INVALID_TOPIC_EXCEPTION: 17, RECORD_LIST_TOO_LARGE: 18,
      NOT_ENOUGH_REPLICAS: 19, INVALID_REQUIRED_ACKS: 21, INVALID_TIMESTAMP: 32, UNSUPPORTED_VERSION: 35,
      TOPIC_ALREADY_EXISTS: 36, INVALID_PARTITIONS: 37, INVALID_CONFIG: 40, INVALID_REQUEST: 42, POLICY_VIOLATION: 44,
      OUT_OF_ORDER_SEQUENCE_NUMBER: 45, DUPLICATE_SEQUENCE_NUMBER: 46, INVALID_PRODUCER_EPOCH: 47,
      KAFKA_STORAGE_ERROR: 56, UNKNOWN_PRODUCER_ID: 59, UNSUPPORTED_COMPRESSION_TYPE: 76,
    };
    for (const [name, code] of Object.entries(expected)) {
      expect(ErrorCode[name as keyof typeof ErrorCode]).toBe(code as never);
      expect(errorInfo(code).name).toBe(name);
    }
  });

  test("one row per code, ordered, every named code has a row", () => {
    const codes = ERROR_TABLE.map((row) => row.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort((a, b) => a - b)).toEqual(codes);
    expect(codes.length).toBe(Object.keys(ErrorCode).length);
    for (const code of Object.values(ErrorCode)) expect(isKnownErrorCode(code)).toBe(true);
    for (const row of ERROR_TABLE) expect(row.message.length).toBeGreaterThan(0);
  });

  test("retriable follows Kafka's marking", () => {
    const retriable = ["CORRUPT_MESSAGE", "UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE", "NOT_LEADER_OR_FOLLOWER",
      "REQUEST_TIMED_OUT", "NETWORK_EXCEPTION", "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "KAFKA_STORAGE_ERROR"];
    const notRetriable = ["UNKNOWN_SERVER_ERROR", "OFFSET_OUT_OF_RANGE", "MESSAGE_TOO_LARGE", "INVALID_TOPIC_EXCEPTION",
      "RECORD_LIST_TOO_LARGE", "UNSUPPORTED_VERSION", "TOPIC_ALREADY_EXISTS", "INVALID_REQUEST", "OUT_OF_ORDER_SEQUENCE_NUMBER",
      "UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_EPOCH", "UNSUPPORTED_COMPRESSION_TYPE"];
    for (const name of retriable) expect(errorInfo(ErrorCode[name as keyof typeof ErrorCode]).retriable).toBe(true);
    for (const name of notRetriable) expect(errorInfo(ErrorCode[name as keyof typeof ErrorCode]).retriable).toBe(false);
  });

  test("definite vs indeterminate: 'the write did not happen' apart from 'it may have happened'", () => {
    const indeterminate = ERROR_TABLE.filter((row) => !row.definite).map((row) => row.name).sort();
    expect(indeterminate).toEqual(
      ["KAFKA_STORAGE_ERROR", "NETWORK_EXCEPTION", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "REQUEST_TIMED_OUT", "UNKNOWN_SERVER_ERROR"].sort(),
    );
    for (const code of [ErrorCode.CORRUPT_MESSAGE, ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]) {
      expect(errorInfo(code).definite).toBe(true);
    }
  });

  test("an unknown code is classified like UNKNOWN_SERVER_ERROR, never guessed from text", () => {
    const info = errorInfo(999);
    expect(info).toMatchObject({ code: 999, retriable: false, definite: false });
    expect(isKnownErrorCode(999)).toBe(false);
  });

  test("RivuletError carries code, name, retriable and definite", () => {
    const error = new RivuletError(ErrorCode.REQUEST_TIMED_OUT);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(RivuletError);
    expect(error.code).toBe(7);
    expect(error.name).toBe("REQUEST_TIMED_OUT");
    expect(error.retriable).toBe(true);
    expect(error.definite).toBe(false);
    expect(error.message).toBe("The request timed out.");
    const withMessage = new RivuletError(ErrorCode.TOPIC_ALREADY_EXISTS, "Topic 'a' already exists.");
    expect(withMessage.message).toBe("Topic 'a' already exists.");
    expect(withMessage.definite).toBe(true);
  });
});
