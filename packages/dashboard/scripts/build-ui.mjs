// Bundles the dashboard page (ui/) into dist/ui/app.js and dist/ui/app.css, which
// mountDashboard inlines into the page it serves. Run by `npm run build` and by the
// tests that serve the page. Each file is written beside its target and renamed over it,
// so test files building at the same time never read a half-written bundle.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Builds the page's script and styles; resolves with the directory they are in. */
export async function buildUi() {
  const outdir = `${root}dist/ui`;
  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: "ui/main.ts", "app-style": "ui/style.css" },
    bundle: true,
    minify: true,
    format: "iife",
    target: "es2022",
    conditions: ["@tandem/source"],
    outdir,
    write: false,
    logLevel: "silent",
  });
  await mkdir(outdir, { recursive: true });
  for (const file of result.outputFiles) {
    const target = file.path.replace(/app-style\.css$/, "app.css");
    const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await writeFile(temporary, file.contents);
    await rename(temporary, target);
  }
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildUi();
