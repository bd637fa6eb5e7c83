// Bundles src/page.ts (which imports the SDK from ../src, unpublished) into
// dist/page.js for the browser, and copies src/index.html next to it.
// `npm run build` runs it; test/browser.test.mjs calls build() itself.
// Packages the SDK imports (@bufbuild/protobuf, @connectrpc/*) resolve from
// sdk/typescript/node_modules, so the page runs the SDK's own locked versions.
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

export const here = dirname(fileURLToPath(import.meta.url));
export const distDir = join(here, "dist");

export async function build() {
  await mkdir(distDir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(here, "src", "page.ts")],
    outfile: join(distDir, "page.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    logLevel: "warning",
  });
  await copyFile(join(here, "src", "index.html"), join(distDir, "index.html"));
  return distDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build();
  console.log(`built ${distDir}`);
}
