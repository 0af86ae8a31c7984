import type { Channel } from "@tandem/client";
import { shallow, useOthers, useUpdateMyPresence } from "@tandem/react";
import {
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
  useEffect,
  useId,
  useRef,
  useState,
} from "react";
import type { PairPresence } from "../room/presence";

/** A chat message as the server stores and relays it (CONTRACT.md). */
export interface ChatMessage {
  id: number;
  user_id: number;
  first_name: string;
  body: string;
  inserted_at: string;
}

const REFUSALS: Record<string, string> = {
  "message too long": "That message is too long (2000 characters at most).",
  "invalid message": "That message contains characters that cannot be sent.",
  rate_limited: "You are sending messages quickly: wait a moment and send it again.",
  "save failed": "The message could not be saved. Please send it again.",
};

/** Messages by id, in id order: history and live messages may overlap. */
export function mergeMessages(
  list: readonly ChatMessage[],
  added: readonly ChatMessage[],
): ChatMessage[] {
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of added) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/**
 * The names of the others writing a message, each once however many tabs they write in:
 * the `writing` field of their presence, apart from the editor's `typing`.
 */
function writersOf(
  others: readonly { presence: PairPresence; reconnecting: boolean }[],
  selfId: number,
): string[] {
  const names = new Map<number, string>();
  for (const { presence, reconnecting } of others) {
    if (presence.writing && !reconnecting && presence.user_id !== selfId) {
      names.set(presence.user_id, presence.first_name);
    }
  }
  return [...names.values()];
}

/**
 * The room's chat beside the editor: its stored history, live messages, and a line
 * saying who is writing one. Inside the room's RoomProvider: writing is presence, which
 * the server clears 3 s after the last keystroke, and the sender clears on sending.
 */
export function Chat({ channel, selfId }: { channel: Channel; selfId: number }): ReactNode {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const typingNames = useOthers<PairPresence, string[]>(
    (others) => writersOf(others, selfId),
    shallow,
  );
  const updatePresence = useUpdateMyPresence<PairPresence>();
  const log = useRef<HTMLOListElement>(null);
  const inputId = useId();

  useEffect(() => {
    const refs = [
      channel.on<{ messages: ChatMessage[] }>("chat:history", ({ messages: history }) =>
        setMessages((list) => mergeMessages(list, history)),
      ),
      channel.on<ChatMessage>("chat:message", (message) =>
        setMessages((list) => mergeMessages(list, [message])),
      ),
    ] as const;
    return () => {
      channel.off("chat:history", refs[0]);
      channel.off("chat:message", refs[1]);
    };
  }, [channel]);

  useEffect(() => {
    const list = log.current;
    if (list && messages.length > 0) list.scrollTop = list.scrollHeight;
  }, [messages]);

  const send = () => {
    const body = draft.trim();
    if (!body) return;
    setProblem(null);
    updatePresence({ writing: false });
    channel
      .push("chat:send", { body })
      .receive("ok", (reply: { message: ChatMessage }) => {
        setMessages((list) => mergeMessages(list, [reply.message]));
        setDraft((current) => (current === draft ? "" : current));
      })
      .receive("error", (reply: { reason?: string }) =>
        setProblem(REFUSALS[reply.reason ?? ""] ?? `The message was not sent (${reply.reason}).`),
      )
      .receive("timeout", () => setProblem("The message was not sent: check the connection."));
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // Enter sends, Shift+Enter starts a new line.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };
  const onChange = (text: string) => {
    setDraft(text);
    updatePresence({ writing: text.trim() !== "" });
  };

  return (
    <section className="chat" aria-labelledby="chat-heading">
      <h2 id="chat-heading">Chat</h2>
      <ol className="chat-log" aria-label="Messages" ref={log}>
        {messages.map((m) => (
          <li key={m.id} className={m.user_id === selfId ? "chat-message self" : "chat-message"}>
            <span className="chat-author">{m.first_name}</span>{" "}
            <time dateTime={m.inserted_at}>
              {new Date(m.inserted_at).toLocaleTimeString([], {
                hour: "2-digit",
                minute: "2-digit",
              })}
            </time>
            <p className="chat-body">{m.body}</p>
          </li>
        ))}
      </ol>
      {messages.length === 0 ? <p className="muted">No messages yet.</p> : null}
      <p className="chat-typing" aria-live="polite">
        {typingNames.length === 0
          ? ""
          : `${typingNames.join(", ")} ${typingNames.length === 1 ? "is" : "are"} typing…`}
      </p>
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      <form onSubmit={onSubmit} className="chat-form">
        <label htmlFor={inputId} className="visually-hidden">
          Message
        </label>
        <textarea
          id={inputId}
          rows={2}
          maxLength={2000}
          placeholder="Message the room"
          value={draft}
          onChange={(event) => onChange(event.target.value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" disabled={!draft.trim()}>
          Send
        </button>
      </form>
    </section>
  );
}
