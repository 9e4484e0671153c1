// Builds the SDK for Node: client/index.ts bundled by `bun build --target node --format esm` into
// dist/client/index.js (the WASM module is already embedded as base64, so nothing else is copied), and its type
// declarations by `tsc --emitDeclarationOnly` into dist/client/types/ (relative imports rewritten to .js).
// A package.json marking the directory as ESM is written next to the bundle, since Node reads a .js file as
// CommonJS without one. Run with `node scripts/build-client.mjs`; Bun users import the TypeScript sources instead.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "dist", "client");
const bin = (name) => join(root, "node_modules", ".bin", name);

// The bundle embeds the WASM module from the generated file; build it when it is missing.
if (!existsSync(join(root, "core", "formats", "wasm-binary.generated.ts"))) {
  execFileSync(process.execPath, [join(root, "scripts", "build-wasm.mjs")], { cwd: root, stdio: "inherit" });
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

// Runtime dependencies stay imports (package.json lists them); everything of ours is bundled into one file.
execFileSync(
  bin("bun"),
  ["build", "client/index.ts", "--target", "node", "--format", "esm", "--outdir", "dist/client", "--external", "msgpackr", "--external", "hyperid"],
  { cwd: root, stdio: "inherit" },
);

execFileSync(
  bin("tsc"),
  [
    "client/index.ts",
    "--declaration",
    "--emitDeclarationOnly",
    "--outDir",
    "dist/client/types",
    "--rootDir",
    ".",
    "--target",
    "ES2022",
    "--module",
    "ESNext",
    "--moduleResolution",
    "bundler",
    "--lib",
    "ES2022,DOM",
    "--types",
    "node",
    "--strict",
    "--skipLibCheck",
    "--allowImportingTsExtensions",
    "--rewriteRelativeImportExtensions",
    "--verbatimModuleSyntax",
    "--isolatedModules",
  ],
  { cwd: root, stdio: "inherit" },
);

// Declarations keep the sources' ".ts" specifiers; Node-style resolution of a published package wants ".js".
// The generated WASM declaration would carry the whole base64 text as a literal type: a string says enough.
for (const entry of readdirSync(join(outDir, "types"), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
  // parentPath is Node 20.12+; `path` is its older name.
  const path = join(entry.parentPath ?? entry.path, entry.name);
  const text = readFileSync(path, "utf8")
    .replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']+)\.ts\2/g, "$1$2$3.js$2")
    .replace(/export declare const WASM_BASE64 = "[^"]*";/, "export declare const WASM_BASE64: string;");
  writeFileSync(path, text);
}

writeFileSync(join(outDir, "package.json"), `${JSON.stringify({ type: "module", types: "./types/client/index.d.ts" }, null, 2)}\n`);
console.log("built dist/client/index.js and dist/client/types/client/index.d.ts");
