// Compares the minified, gzipped browser bundle of @tandem/client with phoenix's, both
// with their long-poll transports. Run with `npm run size:client`; exits non-zero if ours
// is larger minified. Gzipped, ours is larger since it has long-poll (see README.md).
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../../..", import.meta.url));

/** Entry points: our browser entry and phoenix's published ESM build. */
export const entries = {
  tandem: join(root, "packages/client/src/index.ts"),
  phoenix: join(root, "node_modules/phoenix/priv/static/phoenix.mjs"),
};

async function gzippedSize(entry) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    // Workspace packages from their sources, as in the tests (see vitest.config.ts).
    conditions: ["@tandem/source"],
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  // The browser bundle must not drag in the Node-only `ws` package.
  const inputs = Object.keys(result.metafile.inputs);
  const ws = inputs.find((path) => /(^|\/)node_modules\/ws\//.test(path));
  if (ws) throw new Error(`the browser bundle of ${entry} includes ${ws}`);
  const code = result.outputFiles[0].contents;
  return { minified: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength, inputs };
}

/** Bundles, minifies and gzips (level 9) both clients; sizes are in bytes. */
export async function measureBundleSizes() {
  const [tandem, phoenix] = await Promise.all([
    gzippedSize(entries.tandem),
    gzippedSize(entries.phoenix),
  ]);
  return { tandem, phoenix };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { tandem, phoenix } = await measureBundleSizes();
  console.log(`@tandem/client: ${tandem.gzipped} bytes gzipped (${tandem.minified} minified)`);
  console.log(`phoenix 1.8.16: ${phoenix.gzipped} bytes gzipped (${phoenix.minified} minified)`);
  if (tandem.minified > phoenix.minified) {
    console.error("@tandem/client is larger than phoenix, minified");
    process.exit(1);
  }
}
