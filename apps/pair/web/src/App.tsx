import { SocketProvider } from "@tandem/react";
import { lazy, type ReactNode, Suspense, useEffect } from "react";
import { createBrowserRouter, Link, Navigate, Outlet, useLocation, useParams } from "react-router";
import { AuthPage } from "./pages/AuthPage";
import { ChallengesPage } from "./pages/ChallengesPage";
import { LandingPage } from "./pages/LandingPage";
import { BrokenPage, NotFoundPage } from "./pages/NotFoundPage";
import { StatusPill } from "./StatusPill";
import { restoreSession, signedOut, useAppDispatch, useAppSelector } from "./store";

/**
 * Pair's heartbeat: an unanswered one closes the socket at the next, so a tab learns it
 * is offline within two periods (6 s), and the server's idle timeout (20 s) drops a tab
 * that stopped sending them.
 */
const HEARTBEAT_MS = 3000;

/**
 * The frame of every page: the brand, the connection and who is signed in. A signed-in
 * user has one socket, authenticated with the session's token, shared by every page
 * while they move between them.
 */
function Layout(): ReactNode {
  const dispatch = useAppDispatch();
  const { token, user } = useAppSelector((state) => state.auth);

  // A token from an earlier visit: find out whose it is (or that it expired).
  useEffect(() => {
    if (token && !user) dispatch(restoreSession(token));
  }, [dispatch, token, user]);

  const frame = (
    <>
      <header className="topbar">
        <Link to="/" className="brand">
          Pair
        </Link>
        {token ? (
          <div className="session">
            {user ? <StatusPill /> : null}
            {user ? <span className="whoami">{user.first_name}</span> : null}
            <button type="button" className="ghost" onClick={() => dispatch(signedOut())}>
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <Outlet />
    </>
  );
  if (!token || !user) return frame;
  return (
    // A new token makes a new socket: the old one is disconnected with the old provider.
    <SocketProvider
      key={token}
      url="/socket"
      options={{ authToken: token, heartbeatIntervalMs: HEARTBEAT_MS }}
    >
      {frame}
    </SocketProvider>
  );
}

/** The pages for signed-in users; the others are sent to sign in first. */
function SignedIn(): ReactNode {
  const location = useLocation();
  const { token, user } = useAppSelector((state) => state.auth);
  if (!token) return <Navigate to="/sign-in" replace state={{ from: location.pathname }} />;
  if (!user) return <p className="page muted">Loading…</p>;
  return <Outlet />;
}

/** The front page: the lobby for a signed-in user, what Pair is for anyone else. */
function Home(): ReactNode {
  const token = useAppSelector((state) => state.auth.token);
  return token ? <Navigate to="/challenges" replace /> : <LandingPage />;
}

// The editor (CodeMirror, Yjs) is most of the code: load it only when a room opens.
const RoomPage = lazy(async () => ({ default: (await import("./room/RoomPage")).RoomPage }));

/** A room, remounted for each challenge so that each gets a fresh document. */
function RoomRoute(): ReactNode {
  const { id } = useParams();
  const user = useAppSelector((state) => state.auth.user);
  if (!user) return null;
  return (
    <Suspense fallback={<p className="page muted">Opening the room…</p>}>
      <RoomPage key={`${user.id}:${id}`} user={user} />
    </Suspense>
  );
}

/** The app's routes. */
export const router = createBrowserRouter([
  {
    path: "/",
    element: <Layout />,
    // A page that fails to render gets the app's page rather than the router's own.
    errorElement: <BrokenPage />,
    children: [
      { index: true, element: <Home /> },
      { path: "sign-up", element: <AuthPage key="sign-up" mode="sign-up" /> },
      { path: "sign-in", element: <AuthPage key="sign-in" mode="sign-in" /> },
      {
        element: <SignedIn />,
        children: [
          { path: "challenges", element: <ChallengesPage /> },
          { path: "challenges/:id", element: <RoomRoute /> },
        ],
      },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);
