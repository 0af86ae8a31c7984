import { type FormEvent, type ReactNode, useEffect, useId } from "react";
import { Link, Navigate, useLocation } from "react-router";
import { failureDismissed, signIn, signUp, useAppDispatch, useAppSelector } from "../store";
import { correctFields } from "./Field";

/** Where a protected page sent the user from, to go back there after signing in. */
export function returnPath(state: unknown): string {
  const from = (state as { from?: unknown } | null)?.from;
  return typeof from === "string" && from.startsWith("/") ? from : "/challenges";
}

/** The sign up and sign in forms. */
export function AuthPage({ mode }: { mode: "sign-up" | "sign-in" }): ReactNode {
  const dispatch = useAppDispatch();
  const location = useLocation();
  const { token, pending, failure } = useAppSelector((state) => state.auth);
  const ids = { error: useId(), name: useId(), email: useId(), password: useId() };
  const signingUp = mode === "sign-up";

  // A failure belongs to the form it came from.
  useEffect(() => {
    dispatch(failureDismissed());
  }, [dispatch]);

  if (token) return <Navigate to={returnPath(location.state)} replace />;

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email") ?? "");
    const password = String(form.get("password") ?? "");
    if (signingUp) {
      dispatch(signUp({ first_name: String(form.get("first_name") ?? ""), email, password }));
    } else {
      dispatch(signIn({ email, password }));
    }
  };

  /** The server's sentence for a field, when it named that field. */
  const fieldError = (field: string): string | undefined =>
    failure?.errors?.find((e) => e.field === field)?.message ??
    (failure?.field === field ? failure.message : undefined);
  const fieldErrors = failure?.errors?.filter((e) => e.field) ?? [];
  const invalid = (field: string) =>
    fieldError(field)
      ? { "aria-invalid": true, "aria-describedby": `${ids.error} ${ids.error}-${field}` }
      : failure && !failure.field && field !== "first_name"
        ? { "aria-invalid": true, "aria-describedby": ids.error }
        : {};
  const errorBelow = (field: string) =>
    fieldError(field) ? (
      <p id={`${ids.error}-${field}`} className="field-error">
        {fieldError(field)}
      </p>
    ) : null;

  return (
    <main className="page narrow">
      <div className="card">
        <h1>{signingUp ? "Create your account" : "Welcome back"}</h1>
        <p className="muted">
          {signingUp ? "Solve challenges together, live." : "Sign in to pair on a challenge."}
        </p>
        <form onSubmit={onSubmit} noValidate>
          {signingUp ? (
            <div className="field">
              <label htmlFor={ids.name}>First name</label>
              <input
                id={ids.name}
                name="first_name"
                autoComplete="given-name"
                required
                maxLength={64}
                {...invalid("first_name")}
              />
              {errorBelow("first_name")}
            </div>
          ) : null}
          <div className="field">
            <label htmlFor={ids.email}>Email</label>
            <input
              id={ids.email}
              name="email"
              type="email"
              autoComplete="email"
              required
              {...invalid("email")}
            />
            {errorBelow("email")}
          </div>
          <div className="field">
            <label htmlFor={ids.password}>Password</label>
            <input
              id={ids.password}
              name="password"
              type="password"
              autoComplete={signingUp ? "new-password" : "current-password"}
              required
              minLength={8}
              {...invalid("password")}
            />
            {signingUp ? <p className="hint">At least 8 characters.</p> : null}
            {errorBelow("password")}
          </div>
          {failure ? (
            <p id={ids.error} role="alert" className="error">
              {fieldErrors.length > 0 ? correctFields(fieldErrors.length) : failure.message}
            </p>
          ) : null}
          <button type="submit" className="primary" disabled={pending}>
            {signingUp ? "Sign up" : "Sign in"}
          </button>
        </form>
        <p className="switch">
          {signingUp ? (
            <>
              Already have an account?{" "}
              <Link to="/sign-in" state={location.state}>
                Sign in instead
              </Link>
            </>
          ) : (
            <>
              New here?{" "}
              <Link to="/sign-up" state={location.state}>
                Create an account
              </Link>
            </>
          )}
        </p>
      </div>
    </main>
  );
}
