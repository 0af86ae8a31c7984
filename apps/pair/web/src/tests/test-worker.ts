// Runs a room's solution against its tests, away from the page: a dedicated worker has no
// DOM, and the server gives this script a policy of its own (no network, eval allowed
// for the solution only here). The page terminates it when a test runs too long.
import {
  clip,
  matches,
  type RunMessage,
  showValue,
  type TestCase,
  type TestResult,
} from "./verdict";

/** What the page sends: the solution's code and the tests to run on it. */
export interface RunRequest {
  code: string;
  tests: TestCase[];
}

// The page's DOM typings do not describe a worker's global scope: the two members used.
const scope = self as unknown as {
  onmessage: (event: MessageEvent<RunRequest>) => void;
  postMessage(message: RunMessage): void;
};

let logs: string[] = [];
function capture(...values: unknown[]): void {
  logs.push(values.map((v) => (typeof v === "string" ? v : showValue(v))).join(" "));
}
for (const method of ["log", "info", "warn", "error", "debug"] as const) console[method] = capture;

scope.onmessage = async (event: MessageEvent<RunRequest>) => {
  const { code, tests } = event.data;
  // Test function names are JavaScript names (the server checks), so they can be written
  // into the code that hands the solution's functions back.
  const names = [...new Set(tests.map((t) => t.function))];
  const exported = names
    .map((n) => `${JSON.stringify(n)}: typeof ${n} === "undefined" ? undefined : ${n}`)
    .join(", ");
  let functions: Record<string, unknown> = {};
  let loadError: string | null = null;
  try {
    functions = new Function(`"use strict";\n${code}\n;return { ${exported} };`)() as Record<
      string,
      unknown
    >;
  } catch (err) {
    loadError = `The solution does not run: ${describe(err)}`;
  }
  const loadLogs = logs;
  for (const [index, test] of tests.entries()) {
    logs = index === 0 ? loadLogs : [];
    const result = await runOne(test, functions, loadError);
    scope.postMessage({ index, result } satisfies RunMessage);
  }
};

async function runOne(
  test: TestCase,
  functions: Record<string, unknown>,
  loadError: string | null,
): Promise<TestResult> {
  const done = (status: TestResult["status"], output: string): TestResult => ({
    status,
    output: clip(output),
    logs: clip(logs.join("\n")),
  });
  if (loadError) return done("error", loadError);
  const fn = functions[test.function];
  if (typeof fn !== "function")
    return done("error", `${test.function} is not defined as a function.`);
  try {
    const args = JSON.parse(test.args) as unknown[];
    // An async solution is awaited; the page's time limit covers the wait.
    const value: unknown = await fn(...args);
    return done(matches(value, test.expected) ? "passed" : "failed", showValue(value));
  } catch (err) {
    return done("error", `Threw ${describe(err)}`);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : showValue(err);
}
