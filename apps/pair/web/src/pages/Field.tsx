import { cloneElement, type ReactElement, type ReactNode } from "react";

/** A labelled input with the server's message for it, tied to it for screen readers. */
export function Field({
  id,
  label,
  hint,
  error,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  error: string | undefined;
  /** The input itself; it gets the id and, when refused, the error's description. */
  children: ReactElement<Record<string, unknown>>;
}): ReactNode {
  const errorId = `${id}-error`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, {
        id,
        ...(error ? { "aria-invalid": true, "aria-describedby": errorId } : {}),
      })}
      {hint ? <p className="hint">{hint}</p> : null}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** What a form's alert says when the server refused fields: each says why beside it. */
export function correctFields(count: number): string {
  return count === 1
    ? "Please correct the field marked above."
    : `Please correct the ${count} fields marked above.`;
}
