// The command-line clients (topics, produce, consume) against a real in-process broker, through their run()
// functions with in-memory streams: what they print, their exit codes, and that records make the round trip.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { type ClientCliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, OutputClosedError, lines, write } from "../../../client/cli/cli-io.ts";
import { runConsume } from "../../../client/cli/consume.ts";
import { runProduce } from "../../../client/cli/produce.ts";
import { runTopics } from "../../../client/cli/topics.ts";
import { type InProcessBroker, startBroker, topicName, within } from "../helpers.ts";

const WAIT_MS = 15_000;

let broker: InProcessBroker;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
});

interface Captured {
  io: ClientCliIo;
  stdout(): string;
  stderr(): string;
}

function capture(input: string[] = []): Captured {
  let out = "";
  let err = "";
  return {
    io: {
      stdin: (async function* () {
        for (const chunk of input) yield new TextEncoder().encode(chunk);
      })(),
      stdout: { write: (chunk: string) => void (out += chunk) },
      stderr: { write: (chunk: string) => void (err += chunk) },
    },
    stdout: () => out,
    stderr: () => err,
  };
}

async function run(command: typeof runTopics, argv: string[], input: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const captured = capture(input);
  const code = await within(command(argv, captured.io), WAIT_MS, `${argv.join(" ")}`);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

const server = (): string[] => ["--bootstrap-server", broker.address];

describe("rivulet topics", () => {
  test("create, list, describe, alter, delete", async () => {
    const topic = topicName("cli");
    const created = await run(runTopics, ["create", "--topic", topic, "--partitions", "2", "--config", "retention.ms=3600000", ...server()]);
    expect(created).toEqual({ code: EXIT_OK, stdout: `Created topic ${topic}.\n`, stderr: "" });
    expect((await run(runTopics, ["create", "--topic", topic, "--if-not-exists", ...server()])).stdout).toBe(`Topic ${topic} already exists.\n`);
    const again = await run(runTopics, ["create", "--topic", topic, ...server()]);
    expect(again.code).toBe(EXIT_FAILURE);
    expect(again.stderr).toContain("TOPIC_ALREADY_EXISTS");

    expect((await run(runTopics, ["list", ...server()])).stdout.split("\n")).toContain(topic);

    const described = await run(runTopics, ["describe", "--topic", topic, ...server()]);
    expect(described.code).toBe(EXIT_OK);
    const rows = described.stdout.trimEnd().split("\n");
    expect(rows[0]).toBe(`Topic: ${topic}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=3600000`);
    expect(rows.slice(1).map((row) => row.split("\t")[2])).toEqual(["Partition: 0", "Partition: 1"]);

    const altered = await run(runTopics, ["alter", "--topic", topic, "--partitions", "3", "--config", "cleanup.policy=compact", ...server()]);
    expect(altered.code).toBe(EXIT_OK);
    const after = (await run(runTopics, ["describe", "--topic", topic, ...server()])).stdout.split("\n")[0] as string;
    expect(after).toContain("PartitionCount: 3");
    // Alter merges with the overrides already set (AlterConfigs itself replaces the whole set).
    expect(after).toContain("retention.ms=3600000");
    expect(after).toContain("cleanup.policy=compact");
    await run(runTopics, ["alter", "--topic", topic, "--delete-config", "retention.ms", ...server()]);
    expect((await run(runTopics, ["describe", "--topic", topic, ...server()])).stdout.split("\n")[0]).toEndWith("Configs: cleanup.policy=compact");

    expect(await run(runTopics, ["delete", "--topic", topic, ...server()])).toEqual({ code: EXIT_OK, stdout: `Deleted topic ${topic}.\n`, stderr: "" });
    expect((await run(runTopics, ["list", ...server()])).stdout.split("\n")).not.toContain(topic);
  });

  test("usage errors exit 2 and print usage; --help exits 0", async () => {
    for (const argv of [[], ["frobnicate"], ["create"], ["create", "--topic", "x", "--partitions", "zero"], ["list", "--no-such-flag"], ["create", "--topic", "x", "--config", "novalue"]]) {
      const result = await run(runTopics, argv);
      expect(result.code).toBe(EXIT_USAGE);
      expect(result.stderr).toContain("Usage: rivulet topics");
    }
    const help = await run(runTopics, ["--help"]);
    expect(help.code).toBe(EXIT_OK);
    expect(help.stdout).toContain("Usage: rivulet topics");
  });

  test("an unreachable broker is a failure (exit 1) with the error named", async () => {
    const result = await run(runTopics, ["list", "--bootstrap-server", "127.0.0.1:1"]);
    expect(result.code).toBe(EXIT_FAILURE);
    expect(result.stderr).toContain("RivuletConnectionError");
  });
});

describe("rivulet produce and consume", () => {
  test("lines with keys and headers go in; consume prints them back with keys and offsets", async () => {
    const topic = topicName("cli");
    await run(runTopics, ["create", "--topic", topic, "--partitions", "1", ...server()]);
    const input = ["a:1\nb:2\n", "c:", "3\r\nd:4"];
    const produced = await run(runProduce, [topic, "--key-separator", ":", "--acks", "all", "--compression", "lz4", "--headers", "src=cli,n=1", ...server()], input);
    expect(produced).toEqual({ code: EXIT_OK, stdout: "", stderr: "" });

    const consumed = await run(runConsume, [topic, "--from-beginning", "--max-messages", "4", "--print-key", "--print-offset", ...server()]);
    expect(consumed.code).toBe(EXIT_OK);
    expect(consumed.stdout).toBe(["a\t1", "b\t2", "c\t3", "d\t4"].map((line, i) => `Partition:0\tOffset:${i}\t${line}\n`).join(""));
    expect(consumed.stderr).toBe("Processed a total of 4 messages\n");

    const tail = await run(runConsume, [topic, "--partition", "0", "--offset", "2", "--max-messages", "2", ...server()]);
    expect(tail.stdout).toBe("3\n4\n");
  });

  test("consume --timeout-ms ends after a quiet period with what it read", async () => {
    const topic = topicName("cli");
    await run(runTopics, ["create", "--topic", topic, ...server()]);
    await run(runProduce, [topic, ...server()], ["one\ntwo\n"]);
    const result = await run(runConsume, [topic, "--from-beginning", "--timeout-ms", "300", ...server()]);
    expect(result).toEqual({ code: EXIT_OK, stdout: "one\ntwo\n", stderr: "Processed a total of 2 messages\n" });
  });

  test("produce: a line without the key separator fails; usage errors exit 2", async () => {
    const topic = topicName("cli");
    await run(runTopics, ["create", "--topic", topic, ...server()]);
    const bad = await run(runProduce, [topic, "--key-separator", ":", ...server()], ["k:v\nnokey\n"]);
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.stderr).toContain("line 2 has no key separator");
    expect((await run(runProduce, [])).code).toBe(EXIT_USAGE);
    expect((await run(runProduce, [topic, "--acks", "2", ...server()])).code).toBe(EXIT_USAGE);
    expect((await run(runConsume, [topic, "--offset", "3", ...server()])).code).toBe(EXIT_USAGE);
  });

  test("consume into a pipe whose reader left (EPIPE) stops quietly with exit 0", async () => {
    const topic = topicName("cli");
    await run(runTopics, ["create", "--topic", topic, ...server()]);
    await run(runProduce, [topic, ...server()], ["a\nb\nc\n"]);
    // A stdout like a full pipe whose reader is gone: write() says "full", then "error" EPIPE, never "drain".
    const stdout = Object.assign(new EventEmitter(), {
      write: () => {
        queueMicrotask(() => stdout.emit("error", Object.assign(new Error("broken pipe"), { code: "EPIPE" })));
        return false;
      },
    });
    let err = "";
    const io: ClientCliIo = { stdin: [], stdout: stdout as unknown as ClientCliIo["stdout"], stderr: { write: (chunk: string) => void (err += chunk) } };
    const code = await within(runConsume([topic, "--from-beginning", ...server()], io), WAIT_MS, "consume into a closed pipe");
    expect(code).toBe(EXIT_OK);
    expect(err).toBe("Processed a total of 3 messages\n");
    // write() itself: a synchronous EPIPE is an OutputClosedError.
    const throwing = { write: () => { throw Object.assign(new Error("broken pipe"), { code: "EPIPE" }); } };
    await expect(write(throwing, "x")).rejects.toBeInstanceOf(OutputClosedError);
  });

  test("lines() splits chunks at newlines, keeps a last unterminated line, strips CR", async () => {
    const collected: string[] = [];
    for await (const line of lines(["ab", "c\nd", "\r\n", "\n", "e"])) collected.push(line);
    expect(collected).toEqual(["abc", "d", "", "e"]);
  });
});
