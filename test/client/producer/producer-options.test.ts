// Idempotence options follow Kafka 3.x's ProducerConfig: on by default; an explicit enable.idempotence=true that
// contradicts acks, retries or max.in.flight.requests.per.connection is an error naming the option; a
// contradiction with the default turns idempotence off silently.
import { describe, expect, test } from "bun:test";
import { RivuletConfigError } from "../../../client/errors.ts";
import { resolveProducerOptions } from "../../../client/producer/producer-options.ts";

function configError(input: Record<string, unknown>): RivuletConfigError {
  try {
    resolveProducerOptions(input);
  } catch (error) {
    if (error instanceof RivuletConfigError) return error;
    throw error;
  }
  throw new Error(`no RivuletConfigError for ${JSON.stringify(input)}`);
}

describe("enable.idempotence", () => {
  test("is on by default, with acks=all and unbounded retries", () => {
    const options = resolveProducerOptions({});
    expect(options.enableIdempotence).toBe(true);
    expect(options.acks).toBe(-1);
    expect(resolveProducerOptions({ enableIdempotence: false }).enableIdempotence).toBe(false);
    expect(resolveProducerOptions({ "enable.idempotence": "false" }).enableIdempotence).toBe(false);
    expect(resolveProducerOptions({ "enable.idempotence": true, acks: "all", retries: 1, "max.in.flight.requests.per.connection": 5 }).enableIdempotence).toBe(true);
  });

  test("set explicitly, a contradiction throws RivuletConfigError naming the option", () => {
    for (const acks of [0, 1, "1", "0"]) {
      const error = configError({ "enable.idempotence": true, acks });
      expect(error.option).toBe("acks");
      expect(error.message).toMatch(/must be all .* idempotent producer/);
    }
    expect(configError({ enableIdempotence: true, retries: 0 }).option).toBe("retries");
    const inFlight = configError({ enableIdempotence: "true", maxInFlightRequestsPerConnection: 6 });
    expect(inFlight.option).toBe("max.in.flight.requests.per.connection");
    expect(inFlight.message).toMatch(/at most 5/);
  });

  test("on only by default, a contradicting option turns it off silently (Kafka 3.x)", () => {
    expect(resolveProducerOptions({ acks: 1 }).enableIdempotence).toBe(false);
    expect(resolveProducerOptions({ acks: 0 }).enableIdempotence).toBe(false);
    expect(resolveProducerOptions({ retries: 0 }).enableIdempotence).toBe(false);
    expect(resolveProducerOptions({ "max.in.flight.requests.per.connection": 10 }).enableIdempotence).toBe(false);
    // Turned off explicitly, anything goes.
    expect(resolveProducerOptions({ enableIdempotence: false, acks: 0, retries: 0 }).acks).toBe(0);
  });
});
