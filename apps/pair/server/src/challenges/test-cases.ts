import { z } from "zod";

/**
 * One test of a challenge: call the solution's function `function` with the arguments
 * `args` (JSON text of an array) and compare what it returns with `expected` (JSON
 * text). The JSON stays the text its author wrote, so the room shows it back as written.
 */
export type TestCase = {
  readonly function: string;
  readonly args: string;
  readonly expected: string;
};

/** Most tests a challenge carries: each run reports one result per test. */
export const MAX_TEST_CASES = 20;

/** Longest JSON text of a test's arguments or expected result. */
const MAX_JSON_CHARS = 10_000;

const IDENTIFIER = /^[A-Za-z_$][\w$]{0,63}$/;

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The test-case rules of CONTRACT.md, each message a sentence the web app shows. */
export const testCaseSchema = z.object({
  function: z
    .string({ error: "Name the function this test calls." })
    .trim()
    .regex(IDENTIFIER, "The function must be a JavaScript name, such as isBalanced."),
  args: z
    .string({ error: "Give the arguments as a JSON array." })
    .trim()
    .max(MAX_JSON_CHARS, `The arguments can be at most ${MAX_JSON_CHARS} characters.`)
    .refine(
      (text) => isJson(text) && Array.isArray(JSON.parse(text)),
      'The arguments must be a JSON array, such as [1, "two"].',
    ),
  expected: z
    .string({ error: "Give the expected result as JSON." })
    .trim()
    .max(MAX_JSON_CHARS, `The expected result can be at most ${MAX_JSON_CHARS} characters.`)
    .refine(isJson, 'The expected result must be JSON, such as 42, "text" or [1, 2].'),
});

/** A challenge's tests, as the API accepts them. */
export const testCasesSchema = z
  .array(testCaseSchema, { error: "The tests must be a list." })
  .max(MAX_TEST_CASES, `A challenge can have at most ${MAX_TEST_CASES} tests.`);

/** The stored column: a JSON array of {@link TestCase}, written only by this server. */
export function parseStoredTestCases(column: string): TestCase[] {
  return testCasesSchema.parse(JSON.parse(column));
}
