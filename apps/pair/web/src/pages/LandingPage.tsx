import { type ReactNode, useEffect } from "react";
import { Link } from "react-router";

/** What signed-out visitors see at `/`: what Pair is, and how to start. */
export function LandingPage(): ReactNode {
  useEffect(() => {
    document.title = "Pair: solve coding challenges together";
  }, []);
  return (
    <main className="landing">
      <h1>Solve coding challenges together, live.</h1>
      <p>
        Pair is a shared code editor for practising with a friend. Pick a challenge, send the room's
        link, and write the solution together: you see each other's carets as you type, who is in
        the room and who is typing, and whether everyone is still connected.
      </p>
      <ul>
        <li>One document per challenge, kept on the server: edits made offline sync later.</li>
        <li>The lobby shows who is in each room right now.</li>
        <li>Follow a partner's caret with one click.</li>
      </ul>
      <p className="actions">
        <Link to="/sign-up" className="button-link primary">
          Sign up
        </Link>
        <Link to="/sign-in" className="button-link">
          Sign in
        </Link>
      </p>
    </main>
  );
}
