// Build the verifier app into dist/: verifier.js (esbuild bundle of src/app/main.js with
// ZXing's QR reader and jsQR, minified, no source map), verifier.css, index.html (root placeholder left for the
// node to fill in) and sw.js. Deterministic: the same sources and esbuild version give
// the same bytes (tests/unit/test_verifier_build.py checks the committed dist/ is current).
//   node build.mjs [outdir]

import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "dist");
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, "src/app/main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome109", "firefox115", "safari16"],
  legalComments: "eof",
  charset: "utf8",
  outfile: join(out, "verifier.js"),
  logLevel: "warning",
});
for (const [from, to] of [["src/app/index.html", "index.html"], ["src/app/style.css", "verifier.css"], ["src/sw.js", "sw.js"]]) {
  copyFileSync(join(here, from), join(out, to));
}
