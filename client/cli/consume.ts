// `rivulet consume TOPIC`: Kafka's kafka-console-consumer.sh on the SDK's Consumer. Prints one line per record
// (its value as UTF-8, "null" for none), optionally with partition and offset, and key, tab-separated as Kafka's
// formatter does. Stops after --max-messages, when nothing arrived for --timeout-ms, or when io.signal aborts;
// then prints "Processed a total of N messages" on stderr, as Kafka's does, and exits 0.
//
//   rivulet consume rides --from-beginning --print-key --max-messages 10
//   rivulet consume rides --partition 2 --offset 1500 --print-offset --timeout-ms 5000
import type { Consumer } from "../consumer/consumer.ts";
import { EXIT_OK, type ClientCliIo, OutputClosedError, UsageError, clientFor, integerFlag, parseFlags, runCommand, watchOutput, write } from "./cli-io.ts";

const USAGE = `Usage: rivulet consume TOPIC [options]

Options:
  --from-beginning          Start at the earliest offset (default: only new records)
  --partition N             Read only partition N (default: every partition)
  --offset N|earliest|latest   Where to start in --partition (default latest, or earliest with --from-beginning)
  --max-messages N          Exit after N records
  --timeout-ms N            Exit when no record arrived for N ms
  --print-key               Print the key before the value (tab-separated)
  --print-offset            Print Partition:P and Offset:O before the record (tab-separated)
  --bootstrap-server HOST:PORT[,...]   Broker to talk to (default 127.0.0.1:9192)

Docs: docs/cli-clients.md`;

const FLAGS = {
  "from-beginning": { type: "boolean" },
  partition: { type: "string" },
  offset: { type: "string" },
  "max-messages": { type: "string" },
  "timeout-ms": { type: "string" },
  "print-key": { type: "boolean" },
  "print-offset": { type: "boolean" },
} as const;

const decoder = new TextDecoder();

/** Runs `rivulet consume ...` with `argv` after "consume"; resolves with the exit code. `signal` stops it cleanly. */
export async function runConsume(argv: readonly string[], io: ClientCliIo & { signal?: AbortSignal }): Promise<number> {
  return runCommand("consume", USAGE, io, async () => {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (values.help === true) {
      await write(io.stdout, `${USAGE}\n`);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new UsageError("name exactly one TOPIC");
    const topic = positionals[0] as string;
    const partition = integerFlag("partition", values.partition, 0, 0x7fffffff);
    const maxMessages = integerFlag("max-messages", values["max-messages"], 1);
    const timeoutMs = integerFlag("timeout-ms", values["timeout-ms"], 1, 0x7fffffff);
    const fromBeginning = values["from-beginning"] === true;
    const offsetFlag = values.offset;
    if (offsetFlag !== undefined && partition === undefined) throw new UsageError("--offset needs --partition");
    if (offsetFlag !== undefined && fromBeginning) throw new UsageError("--offset and --from-beginning exclude each other");
    const start = offsetFlag === undefined ? (fromBeginning ? "earliest" : "latest") : offsetFlag === "earliest" || offsetFlag === "latest" ? offsetFlag : integerFlag("offset", offsetFlag, 0);
    const printKey = values["print-key"] === true;
    const printOffset = values["print-offset"] === true;

    const consumer = clientFor(values["bootstrap-server"], "rivulet-consume").consumer({ autoOffsetReset: fromBeginning ? "earliest" : "latest" });
    let processed = 0;
    try {
      await consumer.connect();
      if (partition === undefined) await consumer.subscribe({ topics: [topic], fromBeginning });
      else {
        consumer.assign([{ topic, partition }]);
        if (typeof start === "number") consumer.seek({ topic, partition, offset: start });
        else consumer.seek({ topic, partition, offset: start as "earliest" | "latest" });
      }
      const idle = idleTimer(consumer, timeoutMs);
      const onAbort = (): void => void consumer.stop();
      io.signal?.addEventListener("abort", onAbort, { once: true });
      // `rivulet consume ... | head`: the reader left; stop like Kafka's does, without an error.
      let outputClosed = false;
      const unwatch = watchOutput(io.stdout, () => {
        outputClosed = true;
        void consumer.stop();
      });
      try {
        idle.reset();
        for await (const batch of io.signal?.aborted === true ? [] : consumer.batches()) {
          idle.reset();
          let out = "";
          let messages = batch.messages;
          if (maxMessages !== undefined && processed + messages.length > maxMessages) messages = messages.slice(0, maxMessages - processed);
          for (const message of messages) {
            if (printOffset) out += `Partition:${message.partition}\tOffset:${message.offset}\t`;
            if (printKey) out += `${message.key === null ? "null" : decoder.decode(message.key)}\t`;
            out += `${message.value === null ? "null" : decoder.decode(message.value)}\n`;
          }
          processed += messages.length;
          if (outputClosed) break;
          await write(io.stdout, out);
          if (maxMessages !== undefined && processed >= maxMessages) break;
        }
      } catch (error) {
        if (!(error instanceof OutputClosedError)) throw error;
      } finally {
        idle.clear();
        unwatch();
        io.signal?.removeEventListener("abort", onAbort);
      }
    } finally {
      await consumer.disconnect();
    }
    await write(io.stderr, `Processed a total of ${processed} messages\n`);
    return EXIT_OK;
  });
}

// Stops the consumer when no batch arrived for `timeoutMs` (none: never).
function idleTimer(consumer: Consumer, timeoutMs: number | undefined): { reset(): void; clear(): void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const clear = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return {
    reset() {
      if (timeoutMs === undefined) return;
      clear();
      timer = setTimeout(() => void consumer.stop(), timeoutMs);
    },
    clear,
  };
}
