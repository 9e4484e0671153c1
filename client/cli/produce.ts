// `rivulet produce TOPIC`: Kafka's kafka-console-producer.sh on the SDK's Producer. Every line of stdin is one
// record (its value; with --key-separator, key SEP value). Records go out through the producer's high-rate path
// (no promise per record) and the command exits 0 only once every record is acknowledged; the first failure is
// reported with the count of records that failed, exit 1.
//
//   printf 'ride_1\t{"km":3}\n' | rivulet produce rides --key-separator $'\t' --acks all --compression lz4
import { EXIT_FAILURE, EXIT_OK, type ClientCliIo, UsageError, clientFor, integerFlag, lines, parseFlags, runCommand, write } from "./cli-io.ts";

const USAGE = `Usage: rivulet produce TOPIC [options]   (one record per line of stdin)

Options:
  --key-separator SEP       Split each line at the first SEP into key and value (default: no key)
  --acks all|1|0            Acknowledgement to wait for (default all)
  --compression none|gzip|lz4|zstd   Batch codec (default none)
  --headers k=v,k2=v2       Headers added to every record
  --partition N             Send every record to partition N (default: by key, or sticky without one)
  --linger-ms N             linger.ms of the producer (default 5)
  --batch-size N            batch.size of the producer (default 16384)
  --bootstrap-server HOST:PORT[,...]   Broker to talk to (default 127.0.0.1:9192)

Docs: docs/cli-clients.md`;

const FLAGS = {
  "key-separator": { type: "string" },
  acks: { type: "string" },
  compression: { type: "string" },
  headers: { type: "string" },
  partition: { type: "string" },
  "linger-ms": { type: "string" },
  "batch-size": { type: "string" },
} as const;

/** Runs `rivulet produce ...` with `argv` after "produce"; resolves with the exit code. */
export async function runProduce(argv: readonly string[], io: ClientCliIo): Promise<number> {
  return runCommand("produce", USAGE, io, async () => {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (values.help === true) {
      await write(io.stdout, `${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new UsageError("name exactly one TOPIC");
    const topic = positionals[0] as string;
    const separator = values["key-separator"];
    if (separator === "") throw new UsageError("--key-separator must not be empty");
    const headers = parseHeaders(values.headers);
    const partition = integerFlag("partition", values.partition, 0, 0x7fffffff);
    const lingerMs = integerFlag("linger-ms", values["linger-ms"], 0, 0x7fffffff);
    const batchSize = integerFlag("batch-size", values["batch-size"], 0);
    const producer = clientFor(values["bootstrap-server"], "rivulet-produce").producer({
      ...(values.acks === undefined ? {} : { acks: values.acks as "all" }),
      ...(values.compression === undefined ? {} : { compression: values.compression as "none" }),
      ...(lingerMs === undefined ? {} : { "linger.ms": lingerMs }),
      ...(batchSize === undefined ? {} : { "batch.size": batchSize }),
    });
    let failed = 0;
    let firstError: Error | null = null;
    let sent = 0;
    const onDelivery = (error: Error | null): void => {
      if (error === null) return;
      failed += 1;
      firstError ??= error;
    };
    try {
      await producer.connect();
      let lineNumber = 0;
      for await (const line of lines(io.stdin)) {
        lineNumber += 1;
        let key: string | null = null;
        let value = line;
        if (separator !== undefined) {
          const at = line.indexOf(separator);
          if (at < 0) throw new UsageError(`line ${lineNumber} has no key separator ${JSON.stringify(separator)}`);
          key = line.slice(0, at);
          value = line.slice(at + separator.length);
        }
        const waiting = producer.produce(topic, { key, value, ...(headers === undefined ? {} : { headers }), ...(partition === undefined ? {} : { partition }) }, onDelivery);
        // The producer's buffer is full: wait until it takes the record (backpressure on stdin).
        if (waiting !== undefined) await waiting;
        sent += 1;
        if (firstError !== null) break;
      }
      await producer.flush();
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    if (firstError !== null) {
      const error = firstError as Error;
      await write(io.stderr, `rivulet produce: ${failed} of ${sent} records failed; first: ${error.name}: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  });
}

// "k=v,k2=v2" -> headers object; a value may contain "=" but not ",".
function parseHeaders(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const entry of value.split(",")) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new UsageError(`--headers takes k=v,k2=v2, got ${JSON.stringify(entry)}`);
    out[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return out;
}
