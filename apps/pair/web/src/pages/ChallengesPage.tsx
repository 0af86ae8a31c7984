import { useChannel, useChannelEvent } from "@tandem/react";
import { type FormEvent, type ReactNode, useEffect, useId, useState } from "react";
import { Link } from "react-router";
import { createChallenge, loadChallenges, useAppDispatch, useAppSelector } from "../store";
import { type RoomOccupancy, RoomOccupants } from "./RoomOccupants";

/**
 * Who is in each room, by challenge id, live: the `lobby` join reply has every occupied
 * room, and each `occupancy` broadcast the rooms that changed (null: now empty).
 */
function useOccupancy(): Record<string, RoomOccupancy> {
  const { channel, reply } = useChannel("lobby");
  const [rooms, setRooms] = useState<Record<string, RoomOccupancy>>({});
  useEffect(() => {
    // Each (re)join starts from the server's full list.
    const joined = (reply as { rooms?: Record<string, RoomOccupancy> } | undefined)?.rooms;
    if (joined) setRooms(joined);
  }, [reply]);
  useChannelEvent<{ rooms: Record<string, RoomOccupancy | null> }>(
    channel,
    "occupancy",
    ({ rooms: changed }) =>
      setRooms((known) => {
        const next = { ...known };
        for (const [id, occupancy] of Object.entries(changed)) {
          if (occupancy) next[id] = occupancy;
          else delete next[id];
        }
        return next;
      }),
  );
  return rooms;
}

/** The list of challenges, and a form to add one. */
export function ChallengesPage(): ReactNode {
  const dispatch = useAppDispatch();
  const { list, nextCursor, loading, loadFailure, creating, createFailure } = useAppSelector(
    (state) => state.challenges,
  );
  const ids = { title: useId(), description: useId(), code: useId(), error: useId() };
  const occupancy = useOccupancy();

  useEffect(() => {
    dispatch(loadChallenges());
    document.title = "Challenges · Pair";
  }, [dispatch]);

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const result = await dispatch(
      createChallenge({
        title: String(form.get("title") ?? ""),
        description: String(form.get("description") ?? ""),
        starter_code: String(form.get("starter_code") ?? ""),
      }),
    );
    if (createChallenge.fulfilled.match(result)) formElement.reset();
  };

  const invalid = (field: string) =>
    createFailure?.field === field ? { "aria-invalid": true, "aria-describedby": ids.error } : {};

  return (
    <main className="page">
      <h1>Challenges</h1>
      {loadFailure ? (
        <p role="alert" className="error">
          {loadFailure.message}
        </p>
      ) : null}
      {loading && list.length === 0 ? <p className="muted">Loading challenges…</p> : null}
      <ul className="challenge-list" aria-label="Challenges">
        {list.map((challenge) => (
          <li key={challenge.id}>
            <Link to={`/challenges/${challenge.id}`} className="challenge-card">
              <span className="challenge-title">{challenge.title}</span>
              <span className="challenge-description">{challenge.description}</span>
              <RoomOccupants occupancy={occupancy[String(challenge.id)]} />
            </Link>
          </li>
        ))}
      </ul>
      {nextCursor !== null ? (
        <button
          type="button"
          className="load-more"
          disabled={loading}
          onClick={() => dispatch(loadChallenges({ cursor: nextCursor }))}
        >
          {loading ? "Loading…" : "Load more challenges"}
        </button>
      ) : null}
      {!loading && !loadFailure && list.length === 0 ? (
        <p className="muted">No challenges yet: create the first one below.</p>
      ) : null}

      <section className="card new-challenge" aria-labelledby="new-challenge-heading">
        <h2 id="new-challenge-heading">New challenge</h2>
        <form onSubmit={onSubmit}>
          <div className="field">
            <label htmlFor={ids.title}>Title</label>
            <input id={ids.title} name="title" required maxLength={200} {...invalid("title")} />
          </div>
          <div className="field">
            <label htmlFor={ids.description}>Description</label>
            <textarea
              id={ids.description}
              name="description"
              rows={3}
              required
              {...invalid("description")}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.code}>Starter code</label>
            <textarea
              id={ids.code}
              name="starter_code"
              rows={4}
              className="code"
              spellCheck={false}
              {...invalid("starter_code")}
            />
          </div>
          {createFailure ? (
            <p id={ids.error} role="alert" className="error">
              {createFailure.message}
            </p>
          ) : null}
          <button type="submit" className="primary" disabled={creating}>
            Create challenge
          </button>
        </form>
      </section>
    </main>
  );
}
