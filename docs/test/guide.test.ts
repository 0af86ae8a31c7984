import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { expect, test } from "vitest";
import { extractCodeBlocks } from "./code-blocks.js";

const docs = fileURLToPath(new URL("..", import.meta.url));
// Inside the repository, so the blocks' imports resolve to the workspace's packages.
const workDir = join(docs, ".guide");

/**
 * Strict settings for a browser app with a Node server beside it. `@tandem/*` resolves to
 * the packages' sources, so the guide is checked against the code in this tree whether or
 * not it has been built.
 */
const compilerOptions = {
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
  paths: { "@tandem/*": ["../../packages/*/src/index.ts"] },
};

function typeCheck(dir: string): string[] {
  const config = ts.parseJsonConfigFileContent(
    { compilerOptions, include: ["*.ts", "*.tsx"] },
    ts.sys,
    dir,
  );
  expect(config.errors).toEqual([]);
  const program = ts.createProgram(config.fileNames, config.options);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) =>
    ts.formatDiagnostic(diagnostic, {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => dir,
      getNewLine: () => "\n",
    }),
  );
}

test("every ts/tsx block of the guide type-checks", () => {
  const guide = readFileSync(join(docs, "presence-with-react-and-redux.md"), "utf8");
  const blocks = extractCodeBlocks(guide);
  expect(blocks.map((block) => block.name)).toEqual([
    "server.ts",
    "store.ts",
    "room.ts",
    "participants.tsx",
    "app.tsx",
  ]);

  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  for (const block of blocks) writeFileSync(join(workDir, block.name), block.code);

  expect(typeCheck(workDir)).toEqual([]);
}, 60_000);
