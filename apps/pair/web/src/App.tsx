import { SocketProvider } from "@tandem/react";
import { lazy, type ReactNode, Suspense, useEffect } from "react";
import { createBrowserRouter, Link, Navigate, Outlet, useLocation, useParams } from "react-router";
import { AuthPage } from "./pages/AuthPage";
import { ChallengesPage } from "./pages/ChallengesPage";
import { StatusPill } from "./StatusPill";
import { restoreSession, signedOut, useAppDispatch, useAppSelector } from "./store";

/** The frame of every page: the brand, and who is signed in. */
function Layout(): ReactNode {
  const dispatch = useAppDispatch();
  const { token, user } = useAppSelector((state) => state.auth);

  // A token from an earlier visit: find out whose it is (or that it expired).
  useEffect(() => {
    if (token && !user) dispatch(restoreSession(token));
  }, [dispatch, token, user]);

  return (
    <>
      <header className="topbar">
        <Link to="/" className="brand">
          Pair
        </Link>
        {token ? (
          <div className="session">
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
}

/**
 * The frame of the pages for signed-in users: one socket, authenticated with the session's
 * token, shared by every page below while the user moves between them.
 */
function SignedIn(): ReactNode {
  const location = useLocation();
  const { token, user } = useAppSelector((state) => state.auth);
  if (!token) return <Navigate to="/sign-in" replace state={{ from: location.pathname }} />;
  if (!user) return <p className="page muted">Loading…</p>;
  return (
    // A new token makes a new socket: the old one is disconnected with the old provider.
    <SocketProvider key={token} url="/socket" options={{ authToken: token }}>
      <div className="connection">
        <StatusPill />
      </div>
      <Outlet />
    </SocketProvider>
  );
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
    children: [
      { index: true, element: <Navigate to="/challenges" replace /> },
      { path: "sign-up", element: <AuthPage key="sign-up" mode="sign-up" /> },
      { path: "sign-in", element: <AuthPage key="sign-in" mode="sign-in" /> },
      {
        element: <SignedIn />,
        children: [
          { path: "challenges", element: <ChallengesPage /> },
          { path: "challenges/:id", element: <RoomRoute /> },
        ],
      },
    ],
  },
]);
