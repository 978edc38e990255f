// Build the live map bundle: one minified ES module, written into the Python package together
// with a hash of everything it is built from (so a unit test can tell a stale bundle).
//   npm ci && npm run build
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = join(here, "..", "viz_app", "ui", "map", "assets");

/** Files the bundle depends on, in the order the Python test hashes them. */
function sourceFiles() {
  const walk = (dir) =>
    readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
  const files = ["build.mjs", "package.json", "package-lock.json", "tsconfig.json"].map((f) => join(here, f));
  return [...files, ...walk(join(here, "src"))].map((f) => relative(here, f).split("\\").join("/")).sort();
}

function sourcesHash() {
  const h = createHash("sha256");
  for (const f of sourceFiles()) {
    h.update(f + "\0");
    h.update(readFileSync(join(here, f)));
    h.update("\0");
  }
  return h.digest("hex");
}

/** "name@version (licence)" of every npm package that ended up in the bundle (esbuild metafile). */
function bundledPackages(metafile) {
  const names = new Set();
  const [output] = Object.values(metafile.outputs);
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    if (!bytesInOutput) continue;
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (m) names.add(m[1]);
  }
  return [...names].sort().map((name) => {
    const pkg = JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8"));
    return `${name}@${pkg.version} (${pkg.license})`;
  });
}

const sources = sourcesHash();
const result = await esbuild.build({
  entryPoints: [join(here, "src", "index.ts")],
  bundle: true,
  format: "esm",
  minify: true,
  target: ["chrome100", "firefox100", "safari15"],
  legalComments: "eof",
  define: { __LENS_BUILD__: JSON.stringify(sources.slice(0, 16)) },
  banner: { js: `/* Embedding Lens live map (deck.gl). Built from frontend/ by 'npm run build'; sources sha256 ${sources} */` },
  write: false,
  metafile: true,
  logLevel: "warning",
});
// deck.gl's dependencies name CDN URLs on debug paths we never enable (luma.gl's webgl-debug and
// Spector.js, loaders.gl workers). Make them unfetchable, then refuse any other outside host.
const packages = bundledPackages(result.metafile);
let text = `/* Bundled npm packages: ${packages.join(", ")} */\n` + result.outputFiles[0].text.replace(/https:\/\/(unpkg\.com|cdn\.jsdelivr\.net)/g, "cdn-disabled:");
const hosts = text.match(/https?:\/\/[A-Za-z0-9.-]+/g);
if (hosts) throw new Error(`the bundle names outside hosts: ${[...new Set(hosts)].join(", ")}`);
const code = new TextEncoder().encode(text);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "lens-map.js"), code);
const meta = {
  file: "lens-map.js",
  sources_sha256: sources,
  bundle_sha256: createHash("sha256").update(code).digest("hex"),
  bytes: code.length,
  packages,
  files: sourceFiles(),
};
writeFileSync(join(out, "lens-map.json"), JSON.stringify(meta, null, 2) + "\n");
console.log(`lens-map.js: ${code.length} bytes, sources ${sources.slice(0, 16)}`);
