import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  callText,
  canonicalJson,
  clip,
  matches,
  resultFor,
  showValue,
} from "../src/tests/verdict.js";

describe("test verdicts", () => {
  it("compares a returned value with the expected JSON as JSON values", () => {
    expect(matches(true, "true")).toBe(true);
    expect(
      matches(
        [
          [1, 6],
          [8, 10],
        ],
        "[[1, 6], [8, 10]]",
      ),
    ).toBe(true);
    expect(matches({ b: 1, a: [2] }, '{"a":[2],"b":1}')).toBe(true);
    expect(matches("3", "3")).toBe(false);
    expect(matches(undefined, "null")).toBe(false);
    expect(matches(() => 1, "null")).toBe(false);
    expect(matches([1, 2], "[2, 1]")).toBe(false);
  });

  it("finds every JSON value equal to itself whatever its key order, and unequal to a change", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(matches(JSON.parse(text), text)).toBe(true);
        const shuffled = JSON.parse(text, (_k, v: unknown) =>
          v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
        );
        expect(matches(shuffled, text)).toBe(true);
        expect(matches([value], text)).toBe(false);
      }),
    );
  });

  it("gives equal values the same canonical text", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
      }),
    );
  });

  it("takes from the worker only a well-formed result for the next test", () => {
    const result = { status: "passed", output: "1", logs: "" };
    expect(resultFor({ index: 2, result }, 2)).toEqual(result);
    expect(resultFor({ index: 3, result }, 2)).toBeNull();
    expect(resultFor({ index: 2, result: { ...result, status: "won" } }, 2)).toBeNull();
    expect(resultFor({ index: 2, result: { ...result, output: 1 } }, 2)).toBeNull();
    expect(resultFor("passed", 0)).toBeNull();
    expect(resultFor(null, 0)).toBeNull();
    expect(
      resultFor({ index: 0, result: { ...result, logs: "x".repeat(5000) } }, 0)?.logs,
    ).toHaveLength(2000);
  });

  it("shows values and calls as code", () => {
    expect(showValue(undefined)).toBe("undefined");
    expect(showValue(Number.NaN)).toBe("NaN");
    expect(showValue([1, "a"])).toBe('[1,"a"]');
    expect(showValue(() => 1)).toBe("a function");
    expect(callText({ function: "merge", args: '[[[1, 3]], "x"]', expected: "1" })).toBe(
      'merge([[1,3]], "x")',
    );
    expect(clip("abcdef", 4)).toBe("abc…");
    expect(clip("abc", 4)).toBe("abc");
  });
});
