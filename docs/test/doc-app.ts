import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { extractCodeBlocks } from "./code-blocks.js";

const docs = fileURLToPath(new URL("..", import.meta.url));

/**
 * Strict settings for a browser app with a Node server beside it. `@tandem/*` resolves to
 * the packages' sources, so a page is checked against the code in this tree whether or
 * not it has been built.
 */
const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    module: "ESNext",
    moduleResolution: "Bundler",
    jsx: "react-jsx",
    strict: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    isolatedModules: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    paths: {
      "@tandem/client/room": ["../../packages/client/src/room.ts"],
      "@tandem/*": ["../../packages/*/src/index.ts"],
    },
  },
  include: ["*.ts", "*.tsx"],
};

/** The app a documentation page is made of: its ts/tsx blocks as files in a directory. */
export interface DocApp {
  /** Where the files are, inside the repository so their imports resolve. */
  dir: string;
  /** The files' names, in page order. */
  names: string[];
}

/** Writes the code blocks of `docs/<page>` as files of a fresh directory `docs/<dirName>`. */
export function writeDocApp(page: string, dirName: string): DocApp {
  const blocks = extractCodeBlocks(readFileSync(join(docs, page), "utf8"));
  const dir = join(docs, dirName);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // tsx reads the same file, so a server started from it resolves `@tandem/*` as tsc does.
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
  for (const block of blocks) writeFileSync(join(dir, block.name), block.code);
  return { dir, names: blocks.map((block) => block.name) };
}

/** Type-checks the app's files together; returns the diagnostics, formatted. */
export function typecheck(app: DocApp): { configErrors: unknown[]; diagnostics: string[] } {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(app.dir, "tsconfig.json"),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!config) throw new Error(`${app.dir}/tsconfig.json could not be read`);
  const program = ts.createProgram(config.fileNames, config.options);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) =>
    ts.formatDiagnostic(diagnostic, {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => app.dir,
      getNewLine: () => "\n",
    }),
  );
  return { configErrors: config.errors, diagnostics };
}

/**
 * Starts the app's `server.ts` on a spare port; resolves with the process and its socket
 * URL once it prints `listening on <address>:<port>`.
 */
export async function startDocServer(app: DocApp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
    cwd: app.dir,
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  for await (const chunk of child.stdout ?? []) {
    output += String(chunk);
    const address = /listening on (\S+):(\d+)/.exec(output);
    if (address) return { child, url: `ws://${address[1]}:${address[2]}/socket` };
  }
  throw new Error(`the page's server exited before listening: ${output}`);
}
