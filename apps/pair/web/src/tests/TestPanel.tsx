import type { Channel } from "@tandem/client";
import { type ReactNode, useEffect, useState } from "react";
import { runTests } from "./run-tests";
import { callText, type TestCase, type TestResult } from "./verdict";

/** A run as the server relays it (`tests:result`): whose claim it is, and the results. */
interface RoomRun {
  user_id: number;
  first_name: string;
  ran_at: string;
  results: TestResult[];
}

const STATUS_LABELS: Record<TestResult["status"], string> = {
  passed: "passed",
  failed: "failed",
  error: "error",
  timeout: "timed out",
  skipped: "not run",
};

/**
 * The challenge's tests and the room's latest run. "Run tests" runs the room's current
 * solution here, in a worker, and reports the results to the room; everyone sees each
 * run as the claim of whoever ran it. Nobody's code runs on a page unless its own user
 * pressed the button.
 */
export function TestPanel({
  channel,
  tests,
  solution,
  selfId,
}: {
  channel: Channel;
  tests: readonly TestCase[];
  /** The shared solution's text as it is now. */
  solution: () => string;
  selfId: number;
}): ReactNode {
  const [run, setRun] = useState<RoomRun | null>(null);
  const [running, setRunning] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const ref = channel.on<RoomRun>("tests:result", (relayed) => {
      if (relayed.results.length === tests.length) setRun(relayed);
    });
    return () => channel.off("tests:result", ref);
  }, [channel, tests.length]);

  const onRun = async () => {
    setRunning(true);
    setProblem(null);
    const results = await runTests(solution(), tests);
    channel
      .push("tests:report", { results })
      .receive("ok", () => setRunning(false))
      .receive("error", (reply: { reason?: string }) => {
        setRunning(false);
        setProblem(
          reply.reason === "rate_limited"
            ? "Tests were run many times in a row: wait a few seconds and run them again."
            : `The room did not take the results (${reply.reason ?? "refused"}).`,
        );
      })
      .receive("timeout", () => {
        setRunning(false);
        setProblem("The room did not answer: check the connection and run the tests again.");
      });
  };

  if (tests.length === 0) {
    return (
      <section className="tests" aria-labelledby="tests-heading">
        <h2 id="tests-heading">Tests</h2>
        <p className="muted">This challenge has no tests.</p>
      </section>
    );
  }

  const passed = run?.results.filter((r) => r.status === "passed").length ?? 0;
  return (
    <section className="tests" aria-labelledby="tests-heading">
      <div className="tests-header">
        <h2 id="tests-heading">Tests</h2>
        <button type="button" className="primary" onClick={onRun} disabled={running}>
          {running ? "Running…" : "Run tests"}
        </button>
      </div>
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      <p className="muted" role="status" aria-label="Test run">
        {run
          ? `${run.user_id === selfId ? "You" : run.first_name} ran the tests at ${new Date(run.ran_at).toLocaleTimeString()}: ${passed} of ${run.results.length} passed.`
          : "Nobody has run the tests since you came in. Run them on the current solution."}
      </p>
      <ol className="test-list" aria-label="Test results">
        {tests.map((test, index) => {
          const result = run?.results[index];
          return (
            // Tests never reorder: their position is who they are.
            // biome-ignore lint/suspicious/noArrayIndexKey: see above.
            <li key={index} className={`test-case ${result?.status ?? "pending"}`}>
              <code>{callText(test)}</code> should return <code>{test.expected}</code>
              {result ? (
                <div className="test-outcome">
                  <span className="test-status">{STATUS_LABELS[result.status]}</span>
                  {result.status === "passed" || result.status === "failed" ? " got " : " "}
                  {result.output ? <code className="test-output">{result.output}</code> : null}
                  {result.logs ? <pre className="test-logs">{result.logs}</pre> : null}
                </div>
              ) : null}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
