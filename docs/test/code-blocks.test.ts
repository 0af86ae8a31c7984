import { expect, test } from "vitest";
import { extractCodeBlocks } from "./code-blocks.js";

const fence = "```";

test("blocks are named by their file comment, or in sequence without one", () => {
  const markdown = [
    "Intro.",
    `${fence}ts`,
    "// file: server.ts",
    "export const a = 1;",
    fence,
    `${fence}sh`,
    "npm install",
    fence,
    `${fence}tsx`,
    "export const b = <p />;",
    fence,
  ].join("\n");
  expect(extractCodeBlocks(markdown)).toEqual([
    { name: "server.ts", code: "// file: server.ts\nexport const a = 1;\n" },
    { name: "block-2.tsx", code: "export const b = <p />;\n" },
  ]);
});

test("two blocks with the same file name are refused", () => {
  const block = `${fence}ts\n// file: a.ts\nexport {};\n${fence}`;
  expect(() => extractCodeBlocks(`${block}\n\n${block}`)).toThrow("two code blocks are named a.ts");
});
