// Bundles the inbox page (src/inbox.ts, which imports the SDK from ../src)
// into dist/: exactly index.html and a minified inbox.js, the two files the
// gateway embeds and serves. The output is deterministic, so
// scripts/inbox-drift.sh can rebuild and compare with the committed dist/.
//
//   node build.mjs [outDir]     (scripts/inbox-build.sh installs and runs it)
//
// esbuild comes from ../browser-test/node_modules (one lockfile for the page
// tooling); the SDK's own imports resolve from sdk/typescript/node_modules.
import { copyFile, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const esbuild = createRequire(join(here, "..", "browser-test", "package.json"))("esbuild");

export const distDir = join(here, "dist");

export async function build(outDir = distDir) {
  await mkdir(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(here, "src", "inbox.ts")],
    outfile: join(outDir, "inbox.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    logLevel: "warning",
  });
  await copyFile(join(here, "src", "index.html"), join(outDir, "index.html"));
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = await build(process.argv[2] ? resolve(process.argv[2]) : distDir);
  console.log(`built ${outDir}`);
}
