// The packages as a user gets them: builds them, packs them with `npm pack`, lints the
// tarballs (publint, @arethetypeswrong/cli), installs them into a new project in a temporary
// folder outside the repository (third-party dependencies from the npm registry) and there
// (a) runs a server and a client with plain `node`, (b) type-checks a consumer of every
// package's API and the code blocks of every package's README with `tsc --strict`, (c) builds
// a browser bundle with Vite.
// `npm run smoke`; SMOKE_KEEP=1 keeps the folder. Exits non-zero on the first failure.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

/** The published workspaces, in dependency order. */
const published = ["protocol", "server", "redis", "nats", "dashboard", "client", "redux", "react"];
/** Third-party packages the smoke project installs, at the versions this repository uses. */
const thirdParty = {
  dependencies: ["@reduxjs/toolkit", "react", "react-dom", "ws", "zod"],
  devDependencies: ["@types/node", "@types/react", "typescript", "vite"],
};

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixture = fileURLToPath(new URL(".", import.meta.url));
const started = performance.now();

async function step(name, fn) {
  const t0 = performance.now();
  const result = await fn();
  console.log(`smoke: ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return result;
}

function run(cmd, args, cwd, options = {}) {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: "pipe", ...options });
}

/** Runs a command, printing its output only if it fails. */
function quiet(cmd, args, cwd) {
  try {
    return run(cmd, args, cwd);
  } catch (failure) {
    process.stderr.write(`${failure.stdout ?? ""}${failure.stderr ?? ""}`);
    throw new Error(`smoke: ${cmd} ${args.join(" ")} failed in ${cwd}`);
  }
}

const installedVersion = (name) =>
  JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;

const work = mkdtempSync(join(tmpdir(), "tandem-smoke-"));
const packs = join(work, "packs");
const app = join(work, "app");
mkdirSync(packs);
try {
  await step("built the packages", () => quiet("npx", ["tsc", "-b", "tsconfig.build.json"], root));

  const tarballs = await step("packed them", () => {
    const out = quiet(
      "npm",
      [
        "pack",
        "--json",
        "--pack-destination",
        packs,
        ...published.map((name) => `--workspace=packages/${name}`),
      ],
      root,
    );
    return JSON.parse(out).map((pack) => ({ ...pack, path: join(packs, pack.filename) }));
  });
  for (const pack of tarballs) {
    console.log(
      `smoke:   ${pack.name}: ${pack.entryCount} files, ${pack.size} B packed, ${pack.unpackedSize} B unpacked`,
    );
  }

  await step("publint and attw pass for every tarball", async () => {
    for (const pack of tarballs) {
      const tarball = readFileSync(pack.path);
      const { messages, pkg } = await publint({
        pack: {
          tarball: tarball.buffer.slice(
            tarball.byteOffset,
            tarball.byteOffset + tarball.byteLength,
          ),
        },
        strict: true,
      });
      if (messages.length > 0) {
        for (const message of messages)
          console.error(`${pack.name}: ${formatMessage(message, pkg)}`);
        throw new Error(`smoke: publint found ${messages.length} problems in ${pack.name}`);
      }
      // ESM only: the CommonJS and node10 resolutions are not meant to work.
      quiet("npx", ["attw", pack.path, "--profile", "esm-only"], root);
    }
  });

  await step("installed the tarballs into a new project", () => {
    const tandem = Object.fromEntries(tarballs.map((pack) => [pack.name, `file:${pack.path}`]));
    const pinned = (names) =>
      Object.fromEntries(names.map((name) => [name, installedVersion(name)]));
    const manifest = {
      name: "tandem-smoke",
      private: true,
      type: "module",
      dependencies: { ...tandem, ...pinned(thirdParty.dependencies) },
      devDependencies: pinned(thirdParty.devDependencies),
      // The packages' own ranges on each other resolve to these tarballs, never the registry.
      overrides: tandem,
    };
    cpSync(fixture, app, { recursive: true, filter: (path) => !path.endsWith("run.mjs") });
    writeFileSync(join(app, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    // Each README's examples, one module per code block, so that they cannot rot.
    mkdirSync(join(app, "readme"));
    for (const name of published) {
      const readme = readFileSync(join(root, "packages", name, "README.md"), "utf8");
      const blocks = readme.matchAll(/^```(tsx?)\n([\s\S]*?)^```$/gm);
      for (const [index, [, lang, code]] of [...blocks].entries()) {
        writeFileSync(join(app, "readme", `${name}-${index}.${lang}`), code);
      }
    }
    quiet("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], app);
  });

  await step("(a) plain node ran a server and a client that saw its own presence", () => {
    const out = run("node", ["presence-room.mjs"], app, {
      env: { ...process.env, LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 30_000,
    });
    for (const line of out.trimEnd().split("\n")) console.log(`smoke:   ${line}`);
  });

  await step(
    "(b) tsc --strict type-checked a consumer of every package and the READMEs' examples",
    () => quiet(join(app, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], app),
  );

  await step("(c) Vite built a browser bundle of @tandem/client and @tandem/react", () => {
    quiet(join(app, "node_modules/.bin/vite"), ["build", "web", "--logLevel", "warn"], app);
    const assets = join(app, "web/dist/assets");
    for (const file of readdirSync(assets).filter((name) => name.endsWith(".js"))) {
      const code = readFileSync(join(assets, file));
      console.log(
        `smoke:   ${file}: ${code.byteLength} B minified, ${gzipSync(code).byteLength} B gzipped (with React)`,
      );
    }
  });
  console.log(`smoke: passed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  if (process.env.SMOKE_KEEP) console.log(`smoke: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
