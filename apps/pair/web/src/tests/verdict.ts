/** A test of a challenge, as the server sends it (CONTRACT.md): JSON texts as written. */
export interface TestCase {
  function: string;
  args: string;
  expected: string;
}

/** How one test went. `skipped`: an earlier test hung, so the run stopped before it. */
export type TestStatus = "passed" | "failed" | "error" | "timeout" | "skipped";

/** One test's result, as reported to the room. */
export interface TestResult {
  status: TestStatus;
  /** The returned value as JSON, or the error it threw. */
  output: string;
  /** What the solution wrote to the console during the test. */
  logs: string;
}

/** What the worker posts back: each result as it comes, by the test's index. */
export type RunMessage = { index: number; result: TestResult };

const STATUSES: readonly TestStatus[] = ["passed", "failed", "error", "timeout", "skipped"];

/** The result in a worker's message if it is one, for test `index`; else null. */
export function resultFor(message: unknown, index: number): TestResult | null {
  const m = message as Partial<RunMessage> | null;
  const r = m?.result as Partial<TestResult> | undefined;
  if (m?.index !== index || !r || !STATUSES.includes(r.status as TestStatus)) return null;
  if (typeof r.output !== "string" || typeof r.logs !== "string") return null;
  return { status: r.status as TestStatus, output: clip(r.output), logs: clip(r.logs) };
}

/** The server's limit on each of a result's texts (CONTRACT.md). */
export const MAX_RESULT_TEXT = 2000;

/** `text`, cut to the report limit. */
export function clip(text: string, max = MAX_RESULT_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The value as JSON with object keys sorted, so two values equal as JSON give the same
 * text whatever order their keys were set in; undefined for what JSON cannot hold
 * (`undefined`, functions, symbols), as JSON.stringify gives.
 */
export function canonicalJson(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/** Whether a returned value equals the expected JSON text, as JSON values. */
export function matches(actual: unknown, expected: string): boolean {
  const got = canonicalJson(actual);
  return got !== undefined && got === canonicalJson(JSON.parse(expected));
}

/** A value as the room shows it: its JSON, or a name for what JSON cannot hold. */
export function showValue(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The call a test makes, as code: `isBalanced("()")`. */
export function callText(test: TestCase): string {
  let args: string;
  try {
    const parsed: unknown = JSON.parse(test.args);
    args = Array.isArray(parsed) ? parsed.map((a) => JSON.stringify(a)).join(", ") : test.args;
  } catch {
    args = test.args;
  }
  return `${test.function}(${args})`;
}
