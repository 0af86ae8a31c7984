import type { ReactNode } from "react";
import { Field } from "./Field";

/**
 * The create form's tests: one row per test, each a function name, its arguments as a
 * JSON array and the expected result as JSON. Errors come back from the server by
 * position (`tests.1.args`), so a row's position names its fields.
 */
export function TestCaseFields({
  rows,
  errorFor,
  onAdd,
  onRemove,
}: {
  rows: readonly number[];
  errorFor: (field: string) => string | undefined;
  onAdd: () => void;
  onRemove: (row: number) => void;
}): ReactNode {
  return (
    <fieldset className="test-cases">
      <legend>Tests</legend>
      <p className="hint">
        Each test calls a function of the solution with JSON arguments and compares the result with
        the expected JSON.
      </p>
      {errorFor("tests") ? <p className="field-error">{errorFor("tests")}</p> : null}
      {rows.map((row, index) => (
        <fieldset className="test-case-row" key={row}>
          <legend>Test {index + 1}</legend>
          <Field
            id={`test-${row}-function`}
            label="Function"
            error={errorFor(`tests.${index}.function`)}
          >
            <input
              name="test_function"
              className="code"
              spellCheck={false}
              placeholder="isBalanced"
            />
          </Field>
          <Field
            id={`test-${row}-args`}
            label="Arguments (JSON array)"
            error={errorFor(`tests.${index}.args`)}
          >
            <input name="test_args" className="code" spellCheck={false} placeholder='["(())"]' />
          </Field>
          <Field
            id={`test-${row}-expected`}
            label="Expected (JSON)"
            error={errorFor(`tests.${index}.expected`)}
          >
            <input name="test_expected" className="code" spellCheck={false} placeholder="true" />
          </Field>
          <button type="button" className="ghost" onClick={() => onRemove(row)}>
            Remove test {index + 1}
          </button>
        </fieldset>
      ))}
      <button type="button" className="ghost" onClick={onAdd}>
        Add a test
      </button>
    </fieldset>
  );
}
