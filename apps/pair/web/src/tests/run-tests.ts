import type { RunRequest } from "./test-worker";
import { resultFor, type TestCase, type TestResult } from "./verdict";

/** How long one test may run before the worker is stopped. */
export const TEST_TIME_LIMIT_MS = 2000;

/**
 * Runs `code` against `tests` in a fresh Web Worker and resolves with one result per
 * test. A test that takes longer than `timeLimitMs` is a `timeout`: the worker is
 * terminated (the only way to stop a busy loop) and the tests after it are `skipped`.
 */
export function runTests(
  code: string,
  tests: readonly TestCase[],
  timeLimitMs = TEST_TIME_LIMIT_MS,
): Promise<TestResult[]> {
  return new Promise((resolve) => {
    const results: TestResult[] = [];
    const worker = new Worker(new URL("./test-worker.ts", import.meta.url), {
      type: "module",
      name: "tests",
    });
    let timer: ReturnType<typeof setTimeout>;
    const finish = (status: "timeout" | "error", output: string) => {
      clearTimeout(timer);
      worker.terminate();
      const stopped = results.length;
      for (let i = stopped; i < tests.length; i++) {
        results[i] =
          i === stopped || status === "error"
            ? { status, output, logs: "" }
            : { status: "skipped", output: "Not run: an earlier test did not finish.", logs: "" };
      }
      resolve(results);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish("timeout", `Still running after ${timeLimitMs / 1000} s: stopped.`),
        timeLimitMs,
      );
    };
    worker.onmessage = (event: MessageEvent<unknown>) => {
      // The worker runs code anyone in the room may have written, and that code can post
      // messages too: take only a well-formed result for the next test.
      const result = resultFor(event.data, results.length);
      if (!result) return;
      results.push(result);
      if (results.length === tests.length) {
        clearTimeout(timer);
        worker.terminate();
        resolve(results);
      } else arm();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      finish("error", event.message || "The test runner failed.");
    };
    arm();
    worker.postMessage({ code, tests: [...tests] } satisfies RunRequest);
  });
}
