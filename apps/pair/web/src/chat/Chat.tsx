import type { Channel } from "@tandem/client";
import {
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
  useEffect,
  useId,
  useRef,
  useState,
} from "react";

/** A chat message as the server stores and relays it (CONTRACT.md). */
export interface ChatMessage {
  id: number;
  user_id: number;
  first_name: string;
  body: string;
  inserted_at: string;
}

/** How long "X is typing" shows after X's last `chat:typing` (the server relays, never times). */
const TYPING_SHOWN_MS = 3000;
/** A `chat:typing` at most this often while writing. */
const TYPING_EVERY_MS = 1000;

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
 * The room's chat beside the editor: its stored history, live messages, and a line
 * saying who is writing one (its own typing signal, apart from the editor's).
 */
export function Chat({
  channel,
  selfId,
  presentIds,
}: {
  channel: Channel;
  selfId: number;
  /** Users in the room: someone who left is no longer "typing". */
  presentIds: ReadonlySet<number>;
}): ReactNode {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [writers, setWriters] = useState<Map<number, { name: string; until: number }>>(new Map());
  const [problem, setProblem] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const [now, setNow] = useState(() => Date.now());
  const lastTyping = useRef(0);
  const log = useRef<HTMLOListElement>(null);
  const inputId = useId();

  useEffect(() => {
    const refs = [
      channel.on<{ messages: ChatMessage[] }>("chat:history", ({ messages: history }) =>
        setMessages((list) => mergeMessages(list, history)),
      ),
      channel.on<ChatMessage>("chat:message", (message) => {
        setMessages((list) => mergeMessages(list, [message]));
        // A sent message ends its writer's typing.
        setWriters((map) => without(map, message.user_id));
      }),
      channel.on<{ user_id: number; first_name: string }>("chat:typing", (who) => {
        setWriters((map) =>
          new Map(map).set(who.user_id, {
            name: who.first_name,
            until: Date.now() + TYPING_SHOWN_MS,
          }),
        );
        setNow(Date.now());
      }),
    ] as const;
    return () => {
      channel.off("chat:history", refs[0]);
      channel.off("chat:message", refs[1]);
      channel.off("chat:typing", refs[2]);
    };
  }, [channel]);

  // Re-render when the earliest "typing" expires, so the line clears by itself.
  useEffect(() => {
    const next = Math.min(...[...writers.values()].map((w) => w.until).filter((u) => u > now));
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => setNow(Date.now()), next - now);
    return () => clearTimeout(timer);
  }, [writers, now]);

  useEffect(() => {
    const list = log.current;
    if (list && messages.length > 0) list.scrollTop = list.scrollHeight;
  }, [messages]);

  const typingNames = [...writers.entries()]
    .filter(([id, w]) => w.until > now && id !== selfId && presentIds.has(id))
    .map(([, w]) => w.name);

  const send = () => {
    const body = draft.trim();
    if (!body) return;
    setProblem(null);
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
    const at = Date.now();
    if (text.trim() && at - lastTyping.current >= TYPING_EVERY_MS && channel.canPush()) {
      lastTyping.current = at;
      channel.push("chat:typing", {});
    }
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

function without<K, V>(map: Map<K, V>, key: K): Map<K, V> {
  if (!map.has(key)) return map;
  const copy = new Map(map);
  copy.delete(key);
  return copy;
}
