import { type ReactNode, useEffect } from "react";
import { Link } from "react-router";

/** The page for an address Pair has no page for, in the app's own style. */
export function NotFoundPage(): ReactNode {
  useEffect(() => {
    document.title = "Page not found · Pair";
  }, []);
  return (
    <main className="page narrow">
      <h1>Page not found</h1>
      <p className="muted">
        There is nothing at this address. The link may be mistyped, or the page gone.
      </p>
      <Link to="/challenges">Back to the challenges</Link>
    </main>
  );
}

/**
 * What a page that broke while rendering shows (the router's error boundary), instead of
 * the router's developer page. It replaces the whole frame, so it brings its own header.
 */
export function BrokenPage(): ReactNode {
  useEffect(() => {
    document.title = "Something went wrong · Pair";
  }, []);
  return (
    <>
      <header className="topbar">
        <a href="/" className="brand">
          Pair
        </a>
      </header>
      <main className="page narrow">
        <h1>Something went wrong</h1>
        <p className="muted">This page could not be shown. Reloading may help.</p>
        <a href="/challenges">Back to the challenges</a>
      </main>
    </>
  );
}
