import type { Channel } from "@tandem/client";
import { useChannel } from "@tandem/react";
import { bindPresence, presenceActions, selectPresences } from "@tandem/redux";
import { type ReactNode, useCallback, useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import type { Challenge, User } from "../api";
import { Chat } from "../chat/Chat";
import { Markdown } from "../markdown/Markdown";
import { useAppDispatch, useAppSelector } from "../store";
import { TestPanel } from "../tests/TestPanel";
import { DocSync } from "./doc-sync";
import { Editor } from "./Editor";
import { type ParticipantMeta, Participants } from "./Participants";

/** The server clears typing 3 s after the last event; once a second keeps it lit. */
const TYPING_EVERY_MS = 1000;

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
  }, [collab, presentIds]);

  const challenge = (reply as { challenge?: Challenge } | undefined)?.challenge;

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
        {refusal ? (
          <p role="alert" className="error">
            {refusal}
          </p>
        ) : null}
        {collab ? <Editor text={collab.text} awareness={collab.awareness} /> : null}
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
        <Participants presences={presences} selfId={user.id} />
        {channel ? <Chat channel={channel} selfId={user.id} presentIds={presentIds} /> : null}
      </aside>
    </main>
  );
}
