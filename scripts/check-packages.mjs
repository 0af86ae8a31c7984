// Lints every published package as npm would ship it: publint for package.json and the
// files it points at, @arethetypeswrong/cli for how TypeScript resolves its types. Expects
// `npm run build` to have run. Exits non-zero on the first package with a problem.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The workspaces that are published to npm, in dependency order. */
export const publishedPackages = ["protocol", "server", "redis", "client", "redux", "react"];

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

for (const name of publishedPackages) {
  const dir = `packages/${name}`;
  execFileSync(bin("publint"), ["--strict", dir], { cwd: root, stdio: "inherit" });
  // ESM only: the CommonJS and node10 resolutions are not meant to work.
  execFileSync(bin("attw"), ["--pack", dir, "--profile", "esm-only", "--format", "table-flipped"], {
    cwd: root,
    stdio: "inherit",
  });
}
