import { z } from "zod";

/** Longest text of one case's output or logs in a report, in characters. */
export const MAX_REPORT_TEXT = 2000;

const text = z.string().max(MAX_REPORT_TEXT);

/**
 * The `tests:report` payload: what a member's browser says their run gave, one result
 * per test of the challenge, in order. The server cannot check it (the code ran in that
 * member's browser), so the room shows it as that member's claim.
 */
export const testReportSchema = z.object({
  results: z.array(
    z.object({
      status: z.enum(["passed", "failed", "error", "timeout", "skipped"]),
      output: text,
      logs: text,
    }),
  ),
});

/** A validated report. */
export type TestReport = z.infer<typeof testReportSchema>;
