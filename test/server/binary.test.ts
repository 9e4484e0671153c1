// The single binary: scripts/build-binary.mjs compiles it into a temp dir with no node_modules anywhere above it
// in reach, it starts there with a relative data dir, serves ApiVersions, CreateTopics, Produce and Fetch, stops
// with exit 0 on SIGTERM (fetching through sendfile, the default, which must load libc through bun:ffi inside the
// binary), restarts on the same data with read+write and fetches the same bytes, and dumps a segment with dump-log.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiVersionsApi } from "../../core/formats/protocol/index.ts";
import { encodeRecordBatch } from "../../core/formats/record-batch.ts";
import { RawClient } from "../e2e/raw-client.ts";
import { REPO_ROOT, startBrokerProcess, started } from "../fault/fixtures/broker-process.ts";
import { createTopic, fetchAll, produce } from "../fault/fixtures/broker-traffic.ts";

const root = fs.mkdtempSync(join(tmpdir(), "rivulet-binary-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const BUILD_TIMEOUT_MS = 120_000;

describe("dist/rivulet", () => {
  test(
    "runs from a directory without node_modules: serves, stops cleanly, restarts with read+write, dumps a segment",
    async () => {
      const binary = join(root, "rivulet");
      const build = Bun.spawnSync([process.execPath, join(REPO_ROOT, "scripts", "build-binary.mjs"), "--outfile", binary], {
        cwd: REPO_ROOT,
        stdout: "pipe",
        stderr: "pipe",
        timeout: BUILD_TIMEOUT_MS,
      });
      expect(build.exitCode).toBe(0);
      expect(fs.existsSync(binary)).toBe(true);
      const workDir = join(root, "work");
      fs.mkdirSync(workDir);
      // No node_modules next to it or in its working directory; PATH without the repo's tools.
      const env = { PATH: "/usr/bin:/bin", HOME: root };

      const first = started(await startBrokerProcess([binary, "broker", "--port", "0", "--data-dir", "data"], { cwd: workDir, env }));
      expect(first.line).toBe(`rivulet broker listening on 127.0.0.1:${first.port} (data: data)`);
      const client = await RawClient.connect(first.port);
      const versions = await client.request(ApiVersionsApi, { clientSoftwareName: "binary-test", clientSoftwareVersion: "0" });
      expect(versions.errorCode).toBe(0);
      await createTopic(client, "binary");
      const batch = encodeRecordBatch({ records: [{ key: "k", value: "from the binary", timestamp: 1_700_000_000_000 }] });
      expect((await produce(client, "binary", 0, batch, -1)).errorCode).toBe(0);
      const fetched = await fetchAll(client, "binary", 0);
      expect(fetched.records.map((record) => new TextDecoder().decode(record.value!))).toEqual(["from the binary"]);
      client.close();
      expect(await first.stop("SIGTERM")).toBe(0);
      expect(first.stderr()).toContain("fetches send file ranges with sendfile\n");

      const second = started(
        await startBrokerProcess([binary, "broker", "--port", "0", "--data-dir", "data", "--set", "rivulet.sendfile.enable=false"], { cwd: workDir, env }),
      );
      const again = await RawClient.connect(second.port);
      const refetched = await fetchAll(again, "binary", 0);
      expect(Buffer.compare(refetched.batches[0]!, fetched.batches[0]!)).toBe(0);
      again.close();
      expect(await second.stop("SIGTERM")).toBe(0);
      expect(second.stderr()).toContain("fetches send file ranges with read+write\n");

      const dump = Bun.spawnSync([binary, "dump-log", "--print-data-log", join("data", "binary-0", "00000000000000000000.log")], { cwd: workDir, env, stdout: "pipe" });
      expect(dump.exitCode).toBe(0);
      expect(dump.stdout.toString()).toContain("key: k payload: from the binary");
    },
    BUILD_TIMEOUT_MS + 60_000,
  );
});
