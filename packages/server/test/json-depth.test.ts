import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nestingDepth } from "../src/json-depth.js";

/** The depth of a parsed value, by its definition. */
function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe("nestingDepth", () => {
  it("equals the depth of the value the text parses to", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
        const text = JSON.stringify(value);
        expect(nestingDepth(text)).toBe(depthOf(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    expect(nestingDepth(JSON.stringify(["[[{", 'a \\" [[[', { k: "}]" }]))).toBe(2);
    expect(nestingDepth(JSON.stringify({ '"[': ["\\"] }))).toBe(2);
  });

  it("measures 100 000 levels without building them", () => {
    expect(nestingDepth(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)).toBe(100_000);
  });
});
