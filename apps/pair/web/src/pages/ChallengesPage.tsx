import { useChannel, useChannelEvent } from "@tandem/react";
import { type FormEvent, type ReactNode, useEffect, useId, useState } from "react";
import { Link } from "react-router";
import type { ChallengeSummary } from "../api";
import { excerpt } from "../markdown/excerpt";
import { createChallenge, loadChallenges, useAppDispatch, useAppSelector } from "../store";
import { correctFields, Field } from "./Field";
import { type RoomOccupancy, RoomOccupants } from "./RoomOccupants";
import { TestCaseFields } from "./TestCaseFields";

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
  const [created, setCreated] = useState<ChallengeSummary | null>(null);
  // Ids of the test rows: a row keeps its inputs while others are added or removed.
  const [testRows, setTestRows] = useState<number[]>([]);
  const [nextRow, setNextRow] = useState(0);
  const occupancy = useOccupancy();

  useEffect(() => {
    dispatch(loadChallenges());
    document.title = "Challenges · Pair";
  }, [dispatch]);

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const texts = (name: string) => form.getAll(name).map(String);
    const [functions, args, expected] = [
      texts("test_function"),
      texts("test_args"),
      texts("test_expected"),
    ];
    setCreated(null);
    const result = await dispatch(
      createChallenge({
        title: String(form.get("title") ?? ""),
        description: String(form.get("description") ?? ""),
        starter_code: String(form.get("starter_code") ?? ""),
        tests: functions.map((fn, i) => ({
          function: fn,
          args: args[i] ?? "",
          expected: expected[i] ?? "",
        })),
      }),
    );
    if (createChallenge.fulfilled.match(result)) {
      formElement.reset();
      setTestRows([]);
      setCreated(result.payload);
    }
  };

  /** The server's sentence for a field, if it refused it. */
  const errorFor = (field: string): string | undefined =>
    createFailure?.errors?.find((e) => e.field === field)?.message ??
    (createFailure?.field === field ? createFailure.message : undefined);
  const fieldErrors = createFailure?.errors?.filter((e) => e.field) ?? [];

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
              <span className="challenge-description">{excerpt(challenge.description)}</span>
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
        {created ? (
          <p role="status" className="notice">
            “{created.title}” is ready. <Link to={`/challenges/${created.id}`}>Open its room</Link>
          </p>
        ) : null}
        {/* The server's messages, all at once, rather than the browser's one at a time. */}
        <form onSubmit={onSubmit} noValidate>
          <Field id={ids.title} label="Title" error={errorFor("title")}>
            <input name="title" maxLength={200} />
          </Field>
          <Field
            id={ids.description}
            label="Description"
            hint="Markdown: `code`, **bold**, lists and links."
            error={errorFor("description")}
          >
            <textarea name="description" rows={4} />
          </Field>
          <Field id={ids.code} label="Starter code" error={errorFor("starter_code")}>
            <textarea name="starter_code" rows={4} className="code" spellCheck={false} />
          </Field>
          <TestCaseFields
            rows={testRows}
            errorFor={errorFor}
            onAdd={() => {
              setTestRows((rows) => [...rows, nextRow]);
              setNextRow((n) => n + 1);
            }}
            onRemove={(row) => setTestRows((rows) => rows.filter((r) => r !== row))}
          />
          {createFailure ? (
            <div id={ids.error} role="alert" className="error">
              {fieldErrors.length > 0 ? correctFields(fieldErrors.length) : createFailure.message}
            </div>
          ) : null}
          <button type="submit" className="primary" disabled={creating}>
            Create challenge
          </button>
        </form>
      </section>
    </main>
  );
}
