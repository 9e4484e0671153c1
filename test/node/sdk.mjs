// The SDK under test: on Node the built package (dist/client/index.js, made by scripts/build-client.mjs), on Bun
// (when `bun test` picks these files up) the TypeScript sources, so one suite checks both runtimes.
const entry = process.versions.bun === undefined ? "../../dist/client/index.js" : "../../client/index.ts";

/** The SDK module. */
export const sdk = await import(entry);
/** Which build is under test, for messages. */
export const runtime = process.versions.bun === undefined ? `node ${process.versions.node} (dist)` : `bun ${process.versions.bun} (sources)`;
