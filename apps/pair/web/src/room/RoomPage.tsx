import { EditorView } from "@codemirror/view";
import type { Channel } from "@tandem/client";
import type { RoomPresence } from "@tandem/client/room";
import {
  RoomProvider,
  useChannel,
  useConnectionState,
  useOthers,
  useRoom,
  useSelf,
} from "@tandem/react";
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import type { Challenge, User } from "../api";
import { Chat } from "../chat/Chat";
import { Markdown } from "../markdown/Markdown";
import { useOnline } from "../online";
import { TestPanel } from "../tests/TestPanel";
import { bindCarets } from "./carets";
import { DocSync } from "./doc-sync";
import { Editor } from "./Editor";
import { caretIndex } from "./follow";
import { roomChanges } from "./notices";
import { Participants } from "./Participants";
import { type PairPresence, type Participant, participantsOf } from "./presence";

/** The server marks a member away after 8 s without a word: two `here`s may be lost. */
const HERE_EVERY_MS = 3000;
/** How long a "joined" or "left" notice stays. */
const NOTICE_MS = 8000;

interface Collab {
  text: Y.Text;
  awareness: Awareness;
}

/** What a refused edit means for the user, by the server's reason. */
const EDIT_REFUSALS: Record<string, string> = {
  "document too large": "The solution has reached its maximum size; your last edit was not saved.",
  "update too large": "That change is too large to save at once; your last edit was not saved.",
};

/**
 * The shared document of a room, bound to `channel` in an effect of the render that first
 * sees the channel, so before useChannel sends the join. Its awareness stays in the page:
 * it is where the editor reads and writes carets, which travel in presence (see
 * {@link bindCarets}).
 */
function useCollab(
  channel: Channel | null,
  onLocalEdit: () => void,
  onRefused: (reason: string) => void,
): Collab | null {
  const [collab, setCollab] = useState<Collab | null>(null);
  useEffect(() => {
    if (!channel) return;
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    const sync = new DocSync(channel, doc, onLocalEdit, onRefused);
    setCollab({ text: doc.getText("solution"), awareness });
    return () => {
      sync.destroy();
      awareness.destroy();
      doc.destroy();
      setCollab(null);
    };
  }, [channel, onLocalEdit, onRefused]);
  return collab;
}

/** Carries the editor's carets in the room's presence while both exist. */
function useCarets(room: RoomPresence<PairPresence> | null, collab: Collab | null): void {
  useEffect(() => {
    if (!room || !collab) return;
    return bindCarets(room, collab.awareness);
  }, [room, collab]);
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
  participants: readonly Participant[],
  selfId: number,
  offline: boolean,
): Notice[] {
  const [notices, setNotices] = useState<Notice[]>([]);
  const baseline = useRef<Map<string, string> | null>(null);
  const nextId = useRef(0);
  useEffect(() => {
    if (offline) return;
    const now = new Map<string, string>();
    let includesSelf = false;
    for (const { key, tabs } of participants) {
      const { user_id: userId, first_name: name } = tabs[0]!.presence;
      if (userId === selfId) includesSelf = true;
      else now.set(key, name);
    }
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
  }, [participants, selfId, offline]);
  useEffect(() => {
    if (notices.length === 0) return;
    const timer = setTimeout(() => setNotices((shown) => shown.slice(1)), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notices]);
  return notices;
}

/**
 * Keeps `userId`'s caret in view while following them: it scrolls each time their caret
 * moves. A caret in text this tab has not received yet is scrolled to once it arrives.
 * With several tabs, the first with a caret wins.
 */
function useFollow(collab: Collab | null, view: EditorView | null, userId: number | null): void {
  // As a string, so that an equal caret in a new presence is no move.
  const head = useOthers<PairPresence, string | null>((others) => {
    if (userId === null) return null;
    const caret = others.find((o) => o.presence.user_id === userId && o.presence.caret)?.presence
      .caret;
    return caret ? JSON.stringify(caret.head) : null;
  });
  useEffect(() => {
    if (!collab || !view || head === null) return;
    const jump = (): boolean => {
      const caret = caretIndex(collab.text, JSON.parse(head));
      if (caret === null) return false;
      const at = Math.min(caret, view.state.doc.length);
      view.dispatch({ effects: EditorView.scrollIntoView(at, { y: "center" }) });
      return true;
    };
    if (jump()) return;
    let waiting = true;
    const onText = () => {
      if (waiting && jump()) {
        waiting = false;
        collab.text.unobserve(onText);
      }
    };
    collab.text.observe(onText);
    return () => {
      if (waiting) collab.text.unobserve(onText);
    };
  }, [collab, view, head]);
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

/**
 * A challenge room: the challenge, the shared editor, its tests, who is there, and the
 * chat. Who is there, who types or writes, and the carets are the room's presence: the
 * server declares what a member may set, and {@link RoomProvider} joins with it.
 */
export function RoomPage({ user }: { user: User }): ReactNode {
  const { id } = useParams();
  const topic = `challenges:${id}`;
  return (
    <RoomProvider<PairPresence> topic={topic}>
      <Room topic={topic} user={user} />
    </RoomProvider>
  );
}

function Room({ topic, user }: { topic: string; user: User }): ReactNode {
  // The RoomProvider's channel: one channel per topic.
  const { channel, status, reply, error } = useChannel(topic);
  const room = useRoom<PairPresence>();
  const [refusal, setRefusal] = useState<string | null>(null);
  const onRefused = useCallback(
    (reason: string) =>
      setRefusal(EDIT_REFUSALS[reason] ?? `Your last edit was not saved (${reason}).`),
    [],
  );
  // The document is made before the room (the join waits for both), so it reaches the
  // room's latest one through a ref.
  const roomRef = useRef(room);
  useEffect(() => {
    roomRef.current = room;
  }, [room]);
  const onLocalEdit = useCallback(() => roomRef.current?.update({ typing: true }), []);
  const collab = useCollab(channel, onLocalEdit, onRefused);
  useCarets(room, collab);
  useHere(channel);
  const connection = useConnectionState();
  const online = useOnline();
  // The socket learns of a lost network from an unanswered heartbeat (3 s to 6 s); the
  // browser's offline event, when there is one, says so at once.
  const offline = !online || connection === "reconnecting" || connection === "closed";
  const [view, setView] = useState<EditorView | null>(null);
  const [following, setFollowing] = useState<number | null>(null);

  const self = useSelf<PairPresence>();
  const others = useOthers<PairPresence>();
  const participants = useMemo(() => participantsOf(self, others), [self, others]);
  useEffect(() => {
    if (following !== null && !participants.some((p) => p.key === String(following))) {
      setFollowing(null);
    }
  }, [participants, following]);
  useFollow(collab, view, following);
  const notices = useNotices(participants, user.id, offline);

  const challenge = (reply as { challenge?: Challenge } | undefined)?.challenge;
  useEffect(() => {
    document.title = challenge ? `${challenge.title} · Pair` : "Pair";
    return () => {
      document.title = "Pair";
    };
  }, [challenge]);
  const followed = participants.find(({ key }) => key === String(following))?.tabs[0]?.presence;

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
          participants={participants}
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
        {channel ? <Chat channel={channel} selfId={user.id} /> : null}
      </aside>
    </main>
  );
}
