import { EditorView } from "@codemirror/view";
import type { Channel } from "@tandem/client";
import { useChannel, useConnectionState } from "@tandem/react";
import {
  bindPresence,
  type PresenceListEntry,
  presenceActions,
  selectPresences,
} from "@tandem/redux";
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import type { Challenge, User } from "../api";
import { Chat } from "../chat/Chat";
import { Markdown } from "../markdown/Markdown";
import { useOnline } from "../online";
import { useAppDispatch, useAppSelector } from "../store";
import { TestPanel } from "../tests/TestPanel";
import { DocSync } from "./doc-sync";
import { Editor } from "./Editor";
import { caretOf } from "./follow";
import { roomChanges } from "./notices";
import { type ParticipantMeta, Participants } from "./Participants";

/** The server clears typing 3 s after the last event; once a second keeps it lit. */
const TYPING_EVERY_MS = 1000;
/** The server marks a member away after 8 s without a word: two `here`s may be lost. */
const HERE_EVERY_MS = 3000;
/** How long a "joined" or "left" notice stays. */
const NOTICE_MS = 8000;

interface Collab {
  text: Y.Text;
  awareness: Awareness;
  sync: DocSync;
}

/** What a refused edit means for the user, by the server's reason. */
const EDIT_REFUSALS: Record<string, string> = {
  "document too large": "The solution has reached its maximum size; your last edit was not saved.",
  "update too large": "That change is too large to save at once; your last edit was not saved.",
};

/**
 * The shared document of a room, bound to `channel` in an effect of the render that first
 * sees the channel, so before useChannel sends the join.
 */
function useCollab(
  channel: Channel | null,
  user: User,
  onRefused: (reason: string) => void,
): Collab | null {
  const [collab, setCollab] = useState<Collab | null>(null);
  useEffect(() => {
    if (!channel) return;
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    // The server relays this with the name and colour it holds for the user.
    awareness.setLocalStateField("user", { id: user.id, name: user.first_name });
    let lastTyping = 0;
    const sync = new DocSync(
      channel,
      doc,
      awareness,
      () => {
        const now = Date.now();
        if (now - lastTyping < TYPING_EVERY_MS || !channel.canPush()) return;
        lastTyping = now;
        channel.push("typing", {});
      },
      onRefused,
    );
    setCollab({ text: doc.getText("solution"), awareness, sync });
    return () => {
      sync.destroy();
      awareness.destroy();
      doc.destroy();
      setCollab(null);
    };
  }, [channel, user.id, user.first_name, onRefused]);
  return collab;
}

/** Tells the server every few seconds that this tab is still here (see CONTRACT.md). */
function useHere(channel: Channel | null): void {
  useEffect(() => {
    if (!channel) return;
    const timer = setInterval(() => {
      if (channel.canPush()) channel.push("here", {});
    }, HERE_EVERY_MS);
    return () => clearInterval(timer);
  }, [channel]);
}

interface Notice {
  id: number;
  text: string;
}

/**
 * "Bob joined" and "Bob left" notices, from changes of the participant list. The first
 * list that includes the viewer is the baseline (nobody "joins" when you arrive), and
 * going offline starts over: on the way back the list is compared with the one from
 * before the drop, so who came and went meanwhile is told.
 */
function useNotices(
  presences: PresenceListEntry<ParticipantMeta>[],
  selfId: number,
  offline: boolean,
): Notice[] {
  const [notices, setNotices] = useState<Notice[]>([]);
  const baseline = useRef<Map<string, string> | null>(null);
  const nextId = useRef(0);
  useEffect(() => {
    if (offline) return;
    const now = new Map<string, string>();
    for (const { key, metas } of presences) {
      if (metas[0] && metas[0].user_id !== selfId) now.set(key, metas[0].first_name);
    }
    const includesSelf = presences.some(({ metas }) => metas[0]?.user_id === selfId);
    if (!includesSelf) return;
    const before = baseline.current;
    baseline.current = now;
    if (!before) return;
    const { joined, left } = roomChanges(before, now);
    const added = [
      ...joined.map((name) => `${name} joined the room`),
      ...left.map((name) => `${name} left the room`),
    ].map((text) => ({ id: nextId.current++, text }));
    if (added.length > 0) setNotices((shown) => [...shown, ...added]);
  }, [presences, selfId, offline]);
  useEffect(() => {
    if (notices.length === 0) return;
    const timer = setTimeout(() => setNotices((shown) => shown.slice(1)), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notices]);
  return notices;
}

/** Keeps `userId`'s caret in view while following them. */
function useFollow(collab: Collab | null, view: EditorView | null, userId: number | null): void {
  useEffect(() => {
    if (!collab || !view || userId === null) return;
    let last: number | null = null;
    const jump = () => {
      const caret = caretOf(collab.awareness, collab.text, userId);
      if (caret === null || caret === last) return;
      last = caret;
      const at = Math.min(caret, view.state.doc.length);
      view.dispatch({ effects: EditorView.scrollIntoView(at, { y: "center" }) });
    };
    jump();
    collab.awareness.on("change", jump);
    return () => collab.awareness.off("change", jump);
  }, [collab, view, userId]);
}

/** A button that copies the room's address, or shows it when the clipboard refuses. */
function CopyLink(): ReactNode {
  const [said, setSaid] = useState<string | null>(null);
  const copy = async () => {
    const link = window.location.href;
    try {
      await navigator.clipboard.writeText(link);
      setSaid("Link copied: send it to whoever you want to solve this with.");
    } catch {
      setSaid(`Copy this link to invite someone: ${link}`);
    }
  };
  return (
    <>
      <button type="button" onClick={copy}>
        Copy invite link
      </button>
      <output className="hint">{said}</output>
    </>
  );
}

const REFUSALS: Record<string, string> = {
  "not found": "This challenge does not exist.",
  unauthorized: "Your session has expired. Please sign in again.",
};

/** A challenge room: the challenge, the shared editor, its tests, who is there, and the chat. */
export function RoomPage({ user }: { user: User }): ReactNode {
  const { id } = useParams();
  const topic = `challenges:${id}`;
  const dispatch = useAppDispatch();
  const { channel, status, reply, error } = useChannel(topic);
  const [refusal, setRefusal] = useState<string | null>(null);
  const onRefused = useCallback(
    (reason: string) =>
      setRefusal(EDIT_REFUSALS[reason] ?? `Your last edit was not saved (${reason}).`),
    [],
  );
  const collab = useCollab(channel, user, onRefused);
  useHere(channel);
  const connection = useConnectionState();
  const online = useOnline();
  // The socket learns of a lost network from an unanswered heartbeat (3 s to 6 s); the
  // browser's offline event, when there is one, says so at once.
  const offline = !online || connection === "reconnecting" || connection === "closed";
  const [view, setView] = useState<EditorView | null>(null);
  const [following, setFollowing] = useState<number | null>(null);

  useEffect(() => {
    if (!channel) return;
    const unbind = bindPresence(channel, dispatch);
    return () => {
      unbind();
      dispatch(presenceActions.topicCleared({ topic }));
    };
  }, [channel, dispatch, topic]);

  const presences = useAppSelector((state) => selectPresences<ParticipantMeta>(state, topic));
  const presentIds = useMemo(
    () => new Set(presences.flatMap((p) => p.metas.map((m) => m.user_id))),
    [presences],
  );
  useEffect(() => {
    // Carets of users who left go at once rather than after awareness's 30 s timeout.
    collab?.sync.forgetAbsentUsers(presentIds);
    if (following !== null && !presentIds.has(following)) setFollowing(null);
  }, [collab, presentIds, following]);
  useFollow(collab, view, following);
  const notices = useNotices(presences, user.id, offline);

  const challenge = (reply as { challenge?: Challenge } | undefined)?.challenge;
  useEffect(() => {
    document.title = challenge ? `${challenge.title} · Pair` : "Pair";
    return () => {
      document.title = "Pair";
    };
  }, [challenge]);
  const followed = presences.find(({ metas }) => metas[0]?.user_id === following)?.metas[0];

  if (status === "refused") {
    const reason = (error as { reason?: string } | undefined)?.reason ?? "";
    return (
      <main className="page narrow">
        <p role="alert" className="error">
          {REFUSALS[reason] ?? `You cannot join this room (${reason || "refused"}).`}
        </p>
        <Link to="/challenges">Back to the challenges</Link>
      </main>
    );
  }

  return (
    <main className="room">
      <div className="room-main">
        <nav className="breadcrumb" aria-label="Breadcrumb">
          <Link to="/challenges">Challenges</Link>
        </nav>
        <h1>{challenge?.title ?? "Joining the room…"}</h1>
        {challenge ? <Markdown className="description" source={challenge.description} /> : null}
        {offline ? (
          <p role="alert" className="offline-banner">
            <strong>You are offline.</strong> Pair is trying to get back; keep typing: your edits
            will sync when you are back.
          </p>
        ) : null}
        <div className="room-tools">
          <CopyLink />
          {followed ? (
            <>
              <output>Following {followed.first_name}</output>
              <button type="button" onClick={() => setFollowing(null)}>
                Stop following
              </button>
            </>
          ) : null}
        </div>
        {refusal ? (
          <p role="alert" className="error">
            {refusal}
          </p>
        ) : null}
        {collab ? (
          <Editor text={collab.text} awareness={collab.awareness} onView={setView} />
        ) : null}
        {channel && collab && challenge ? (
          <TestPanel
            channel={channel}
            tests={challenge.tests}
            solution={() => collab.text.toString()}
            selfId={user.id}
          />
        ) : null}
      </div>
      <aside className="room-side">
        <Participants
          presences={presences}
          selfId={user.id}
          stale={offline}
          following={following}
          onFollow={setFollowing}
        />
        <ul className="notices" aria-label="Room notices" aria-live="polite">
          {notices.map((notice) => (
            <li key={notice.id}>{notice.text}</li>
          ))}
        </ul>
        {channel ? <Chat channel={channel} selfId={user.id} presentIds={presentIds} /> : null}
      </aside>
    </main>
  );
}
