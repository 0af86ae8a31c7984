import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.js";
import type { TestCase } from "./test-cases.js";

/** A challenge as written in the seed set. */
export interface SeedChallenge {
  readonly title: string;
  readonly description: string;
  readonly starterCode: string;
}

/**
 * A test is one call of a named function, so the challenges about a class and about timers
 * come with a driver in their starter code, which the tests call.
 */
const LRU_STARTER = `class LRUCache {
  constructor(capacity) {
    this.capacity = capacity;
  }

  get(key) {
    // your code here
  }

  put(key, value) {
    // your code here
  }
}

// Used by the tests: ["put", key, value] or ["get", key], what each returns (null for none).
function replay(capacity, operations) {
  const cache = new LRUCache(capacity);
  return operations.map(([op, key, value]) =>
    op === "put" ? (cache.put(key, value), null) : (cache.get(key) ?? null),
  );
}
`;

const DEBOUNCE_STARTER = `function debounce(fn, waitMs) {
  // your code here
}

// Used by the tests: calls are [atMs, argument], or [atMs, "cancel"]; resolves with the
// arguments fn was invoked with, once every timer has had time to fire.
function trace(waitMs, calls) {
  const invoked = [];
  const debounced = debounce((argument) => invoked.push(argument), waitMs);
  const last = Math.max(0, ...calls.map(([atMs]) => atMs));
  return new Promise((resolve, reject) => {
    for (const [atMs, argument] of calls) {
      setTimeout(() => {
        try {
          if (argument === "cancel") debounced.cancel();
          else debounced(argument);
        } catch (err) {
          reject(err);
        }
      }, atMs);
    }
    setTimeout(() => resolve(invoked), last + waitMs * 3);
  });
}
`;

/** The challenges every new installation starts with. */
export const SEED_CHALLENGES: readonly SeedChallenge[] = [
  {
    title: "Balanced Brackets",
    description:
      "Write `isBalanced(text)` that returns true when every opening bracket in `text` " +
      "(`(`, `[` or `{`) is closed by the matching bracket in the right order, and false " +
      "otherwise. Characters that are not brackets are ignored.\n\n" +
      'Examples: `isBalanced("{[()]}")` is true, `isBalanced("([)]")` is false, ' +
      '`isBalanced("f(a[0])")` is true, `isBalanced("")` is true.\n\n' +
      "Aim for a single pass over the input.",
    starterCode: "function isBalanced(text) {\n  // your code here\n}\n",
  },
  {
    title: "Run-Length Encoding",
    description:
      "Implement `encode(text)` and `decode(encoded)`. Encoding replaces each run of the " +
      'same character by the run\'s length followed by the character: `"aaabccdddd"` becomes ' +
      '`"3a1b2c4d"`. Decoding reverses it, and runs may be longer than 9 (`"12x"` is twelve ' +
      "`x`). Assume the input to `encode` contains no digits.\n\n" +
      "Check that `decode(encode(s))` gives back `s` for a few strings of your own.",
    starterCode:
      "function encode(text) {\n  // your code here\n}\n\nfunction decode(encoded) {\n  // your code here\n}\n",
  },
  {
    title: "Merge Overlapping Intervals",
    description:
      "Given an array of closed intervals `[start, end]` in any order, return the smallest " +
      "array of intervals that covers exactly the same numbers, sorted by start. Intervals " +
      "that touch (`[1, 3]` and `[3, 5]`) count as overlapping.\n\n" +
      "Example: `merge([[8, 10], [1, 3], [2, 6], [15, 18]])` returns " +
      "`[[1, 6], [8, 10], [15, 18]]`. Do not modify the input array.",
    starterCode: "function merge(intervals) {\n  // your code here\n}\n",
  },
  {
    title: "LRU Cache",
    description:
      "Build a class `LRUCache` with a fixed `capacity`. `get(key)` returns the stored value " +
      "or `undefined`; `put(key, value)` stores a value, and when the cache is full it first " +
      "evicts the entry that was used least recently (both `get` and `put` count as a use).\n\n" +
      "Both operations should run in constant time on average. Hint: a JavaScript `Map` " +
      "remembers insertion order.\n\n" +
      "The tests call `replay(capacity, operations)`, already in the editor: it runs the " +
      "operations on a new cache and lists what each returned. Keep it as it is.",
    starterCode: LRU_STARTER,
  },
  {
    title: "Roman Numerals",
    description:
      "Write `toRoman(n)` for whole numbers from 1 to 3999 and `fromRoman(numeral)` for the " +
      "reverse. Use the subtractive forms: 4 is `IV`, 9 is `IX`, 40 is `XL`, 90 is `XC`, 400 is " +
      "`CD` and 900 is `CM`.\n\n" +
      'Examples: `toRoman(1994)` is `"MCMXCIV"`, `fromRoman("LVIII")` is 58. Make ' +
      "`fromRoman` throw on input that is not a valid numeral, such as `IIII` or `VX`.",
    starterCode:
      "function toRoman(n) {\n  // your code here\n}\n\nfunction fromRoman(numeral) {\n  // your code here\n}\n",
  },
  {
    title: "Word Frequency",
    description:
      "Write `topWords(text, k)` that returns the `k` most frequent words of `text` as " +
      "`[word, count]` pairs, most frequent first. Words are compared case-insensitively and " +
      "consist of letters and apostrophes; everything else separates them. Break ties " +
      "alphabetically.\n\n" +
      'Example: `topWords("The cat and the hat. THE END", 2)` returns `[["the", 3], ["and", 1]]`.',
    starterCode: "function topWords(text, k) {\n  // your code here\n}\n",
  },
  {
    title: "Debounce",
    description:
      "Implement `debounce(fn, waitMs)`. It returns a function that, however often it is " +
      "called, invokes `fn` only once the calls have stopped for `waitMs` milliseconds, with " +
      "the arguments of the last call. The returned function also has a `cancel()` method " +
      "that drops a pending invocation.\n\n" +
      "This is how a typing indicator avoids a message per keystroke: think about which " +
      "timer to clear, and when.\n\n" +
      "The tests call `trace(waitMs, calls)`, already in the editor: it makes each call at " +
      "its time (or cancels) and lists the arguments `fn` was invoked with. Keep it as it is.",
    starterCode: DEBOUNCE_STARTER,
  },
];

/** Inserts {@link SEED_CHALLENGES}; run once, by the `0002_seed_challenges` migration. */
export async function seedChallenges(db: Kysely<Schema>): Promise<void> {
  const now = new Date().toISOString();
  await db
    .insertInto("challenges")
    .values(
      SEED_CHALLENGES.map((c) => ({
        title: c.title,
        description: c.description,
        starter_code: c.starterCode,
        author_id: null,
        inserted_at: now,
      })),
    )
    .execute();
}

/** Builds a test case from values, so the seed set cannot hold malformed JSON. */
function call(fn: string, args: readonly unknown[], expected: unknown): TestCase {
  return { function: fn, args: JSON.stringify(args), expected: JSON.stringify(expected) };
}

/** The tests of the seed challenges, by title. */
export const SEED_TEST_CASES: Readonly<Record<string, readonly TestCase[]>> = {
  "Balanced Brackets": [
    call("isBalanced", ["{[()]}"], true),
    call("isBalanced", ["([)]"], false),
    call("isBalanced", ["f(a[0])"], true),
    call("isBalanced", [""], true),
    call("isBalanced", ["(("], false),
    call("isBalanced", ["())"], false),
  ],
  "Run-Length Encoding": [
    call("encode", ["aaabccdddd"], "3a1b2c4d"),
    call("encode", ["abc"], "1a1b1c"),
    call("encode", [""], ""),
    call("decode", ["3a1b2c4d"], "aaabccdddd"),
    call("decode", ["12x"], "xxxxxxxxxxxx"),
  ],
  "Merge Overlapping Intervals": [
    call(
      "merge",
      [
        [
          [8, 10],
          [1, 3],
          [2, 6],
          [15, 18],
        ],
      ],
      [
        [1, 6],
        [8, 10],
        [15, 18],
      ],
    ),
    call(
      "merge",
      [
        [
          [1, 3],
          [3, 5],
        ],
      ],
      [[1, 5]],
    ),
    call(
      "merge",
      [
        [
          [1, 4],
          [2, 3],
        ],
      ],
      [[1, 4]],
    ),
    call("merge", [[]], []),
  ],
  "Roman Numerals": [
    call("toRoman", [1994], "MCMXCIV"),
    call("toRoman", [4], "IV"),
    call("toRoman", [3999], "MMMCMXCIX"),
    call("fromRoman", ["LVIII"], 58),
    call("fromRoman", ["MCMXCIV"], 1994),
  ],
  "Word Frequency": [
    call(
      "topWords",
      ["The cat and the hat. THE END", 2],
      [
        ["the", 3],
        ["and", 1],
      ],
    ),
    call(
      "topWords",
      ["it's a dog's life, a dog's", 2],
      [
        ["a", 2],
        ["dog's", 2],
      ],
    ),
    call("topWords", ["", 3], []),
  ],
  "LRU Cache": [
    call(
      "replay",
      [
        2,
        [
          ["put", 1, "one"],
          ["put", 2, "two"],
          ["get", 1],
          ["put", 3, "three"],
          ["get", 2],
          ["get", 3],
          ["get", 1],
        ],
      ],
      [null, null, "one", null, null, "three", "one"],
    ),
    call(
      "replay",
      [
        2,
        [
          ["put", "a", 1],
          ["put", "a", 10],
          ["put", "b", 2],
          ["put", "c", 3],
          ["get", "a"],
          ["get", "b"],
        ],
      ],
      [null, null, null, null, null, 2],
    ),
    call("replay", [1, [["get", "missing"]]], [null]),
  ],
  Debounce: [
    call(
      "trace",
      [
        40,
        [
          [0, "a"],
          [10, "b"],
          [20, "c"],
        ],
      ],
      ["c"],
    ),
    call(
      "trace",
      [
        20,
        [
          [0, "a"],
          [150, "b"],
        ],
      ],
      ["a", "b"],
    ),
    call(
      "trace",
      [
        40,
        [
          [0, "a"],
          [10, "cancel"],
        ],
      ],
      [],
    ),
  ],
};

/**
 * Gives the seeded LRU Cache and Debounce the drivers their tests call, and their tests;
 * run once, by the `0006_seed_test_drivers` migration, for installations seeded before.
 */
export async function seedTestDrivers(db: Kysely<Schema>): Promise<void> {
  for (const challenge of SEED_CHALLENGES) {
    if (challenge.title !== "LRU Cache" && challenge.title !== "Debounce") continue;
    await db
      .updateTable("challenges")
      .set({ description: challenge.description, starter_code: challenge.starterCode })
      .where("title", "=", challenge.title)
      .where("author_id", "is", null)
      .execute();
  }
  await seedTestCases(db);
}

/** Gives the seed challenges still in the database their tests; run by migrations 0005 and 0006. */
export async function seedTestCases(db: Kysely<Schema>): Promise<void> {
  for (const [title, cases] of Object.entries(SEED_TEST_CASES)) {
    await db
      .updateTable("challenges")
      .set({ test_cases: JSON.stringify(cases) })
      .where("title", "=", title)
      .where("author_id", "is", null)
      .execute();
  }
}
