// docs/client.md stays true to the code: every client, retry and admin option appears with its Kafka name,
// spellings and default as describeOptions reports them.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ADMIN_OPTIONS } from "../../client/admin.ts";
import { CLIENT_OPTIONS, RETRY_OPTIONS } from "../../client/cluster.ts";
import { type OptionsSpec, describeOptions } from "../../client/options.ts";

const DOC = readFileSync(join(import.meta.dir, "..", "..", "docs", "client.md"), "utf8");

function expectDocumented(spec: OptionsSpec, prefix: string): void {
  for (const row of describeOptions(spec)) {
    const line = DOC.split("\n").find((candidate) => candidate.startsWith(`| \`${prefix}${row.name}\` |`));
    expect(line, `docs/client.md has a row for ${prefix}${row.name}`).toBeDefined();
    if (row.kafka !== null) expect(line).toContain(`\`${row.kafka}\``);
    for (const alias of row.aliases) expect(line).toContain(`\`${alias}\``);
    expect(line).toContain(`\`${row.default}\``);
  }
}

describe("docs/client.md", () => {
  test("documents every client option", () => expectDocumented(CLIENT_OPTIONS, ""));
  test("documents every retry option", () => expectDocumented(RETRY_OPTIONS, "retry."));
  test("documents every admin option", () => expectDocumented(ADMIN_OPTIONS, ""));
});
