import { describe, expect, it } from "vitest";
import { SEED_CHALLENGES, SEED_TEST_CASES } from "../src/challenges/seed.js";

/** A correct solution of each seed challenge, so that its tests are shown to be right. */
const SOLUTIONS: Record<string, string> = {
  "Balanced Brackets": `
    function isBalanced(text) {
      const open = { ")": "(", "]": "[", "}": "{" };
      const stack = [];
      for (const c of text) {
        if ("([{".includes(c)) stack.push(c);
        else if (c in open && stack.pop() !== open[c]) return false;
      }
      return stack.length === 0;
    }`,
  "Run-Length Encoding": `
    function encode(text) {
      return text.replace(/(.)\\1*/g, (run, c) => run.length + c);
    }
    function decode(encoded) {
      return encoded.replace(/(\\d+)(\\D)/g, (_, n, c) => c.repeat(Number(n)));
    }`,
  "Merge Overlapping Intervals": `
    function merge(intervals) {
      const out = [];
      for (const [start, end] of [...intervals].sort((a, b) => a[0] - b[0])) {
        const last = out.at(-1);
        if (last && start <= last[1]) last[1] = Math.max(last[1], end);
        else out.push([start, end]);
      }
      return out;
    }`,
  "LRU Cache": `
    class LRUCache {
      constructor(capacity) { this.capacity = capacity; this.map = new Map(); }
      get(key) {
        if (!this.map.has(key)) return undefined;
        const value = this.map.get(key);
        this.map.delete(key);
        this.map.set(key, value);
        return value;
      }
      put(key, value) {
        this.map.delete(key);
        if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value);
        this.map.set(key, value);
      }
    }`,
  "Roman Numerals": `
    const NUMERALS = [[1000, "M"], [900, "CM"], [500, "D"], [400, "CD"], [100, "C"], [90, "XC"],
      [50, "L"], [40, "XL"], [10, "X"], [9, "IX"], [5, "V"], [4, "IV"], [1, "I"]];
    function toRoman(n) {
      let out = "";
      for (const [value, numeral] of NUMERALS) while (n >= value) { out += numeral; n -= value; }
      return out;
    }
    function fromRoman(numeral) {
      let n = 0, rest = numeral;
      for (const [value, part] of NUMERALS) while (rest.startsWith(part)) { n += value; rest = rest.slice(part.length); }
      if (rest !== "" || toRoman(n) !== numeral) throw new Error("not a numeral: " + numeral);
      return n;
    }`,
  "Word Frequency": `
    function topWords(text, k) {
      const counts = new Map();
      for (const word of text.toLowerCase().match(/[a-z']+/g) ?? []) {
        counts.set(word, (counts.get(word) ?? 0) + 1);
      }
      return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, k);
    }`,
  Debounce: `
    function debounce(fn, waitMs) {
      let timer;
      const debounced = (...args) => {
        clearTimeout(timer);
        timer = setTimeout(() => fn(...args), waitMs);
      };
      debounced.cancel = () => clearTimeout(timer);
      return debounced;
    }`,
};

/** The part of the starter code the tests call, if any (see seed.ts). */
function driverOf(starterCode: string): string {
  const at = starterCode.indexOf("// Used by the tests");
  return at === -1 ? "" : starterCode.slice(at);
}

describe("the seed challenges' tests", () => {
  for (const challenge of SEED_CHALLENGES) {
    it(`${challenge.title}: a correct solution passes every test`, async () => {
      const cases = SEED_TEST_CASES[challenge.title] ?? [];
      expect(cases.length).toBeGreaterThanOrEqual(3);
      const solution = SOLUTIONS[challenge.title];
      expect(solution).toBeDefined();
      // As the test worker loads a solution: the named functions handed back from its code.
      const names = [...new Set(cases.map((c) => c.function))];
      const functions = new Function(
        `"use strict";\n${solution}\n${driverOf(challenge.starterCode)}\nreturn { ${names.join(", ")} };`,
      )() as Record<string, (...args: unknown[]) => unknown>;
      for (const test of cases) {
        const value = await functions[test.function]?.(...(JSON.parse(test.args) as unknown[]));
        expect(JSON.parse(JSON.stringify(value)), `${test.function}(${test.args})`).toEqual(
          JSON.parse(test.expected),
        );
      }
    });
  }

  it("the starter code alone passes none of the driven tests", async () => {
    for (const title of ["LRU Cache", "Debounce"]) {
      const challenge = SEED_CHALLENGES.find((c) => c.title === title);
      const cases = SEED_TEST_CASES[title] ?? [];
      const fn = cases[0]?.function ?? "";
      const functions = new Function(
        `"use strict";\n${challenge?.starterCode}\nreturn { ${fn} };`,
      )() as Record<string, (...args: unknown[]) => unknown>;
      const outcomes = await Promise.all(
        cases.map(async (test) => {
          try {
            const value = await functions[fn]?.(...(JSON.parse(test.args) as unknown[]));
            return JSON.stringify(value) === JSON.stringify(JSON.parse(test.expected));
          } catch {
            return false;
          }
        }),
      );
      expect(outcomes.filter(Boolean).length, title).toBeLessThan(cases.length);
    }
  });
});
