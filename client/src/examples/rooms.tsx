/**
 * The room list, a room's chat with typing indicators, and direct messages: the channel half of
 * the demo page. A refused subscription (a guest opening #staff) is shown, never hidden.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ServerError } from 'wsguard/client';
import { useChannel } from 'wsguard/react';
import { chatLine, typingEvent, validEvent } from '../../../server/events.js';
import type { AppSocket } from '../utils/secureWebSocket';

export const ROOMS = ['general', 'random', 'staff'] as const;
/** How long "X is typing" stays after their last keystroke. */
const TYPING_SHOWN_MS = 3000;
/** At most one `typing` publication per this interval while someone types. */
const TYPING_EVERY_MS = 1500;

/** Why a subscription is not there, in words. */
export function describeRefusal(room: string, err: Error | undefined): string {
  const code = err instanceof ServerError ? err.code : undefined;
  if (code === 'WSG_FORBIDDEN') return `You are not allowed in #${room}.`;
  if (code === 'WSG_UNKNOWN_CHANNEL') return `There is no room #${room}.`;
  if (code === 'WSG_TOO_MANY_SUBSCRIPTIONS') return 'Too many rooms open at once.';
  return `Cannot open #${room} right now.`;
}

export function RoomList({
  current,
  refused,
  onPick,
}: {
  current: string;
  refused: ReadonlySet<string>;
  onPick: (room: string) => void;
}) {
  return (
    <nav className="rooms" aria-label="Rooms">
      {ROOMS.map((room) => (
        <button
          key={room}
          type="button"
          aria-pressed={room === current}
          className={refused.has(room) ? 'room room-refused' : 'room'}
          title={refused.has(room) ? 'not allowed' : undefined}
          data-testid={`room-${room}`}
          onClick={() => onPick(room)}
        >
          #{room}
          {refused.has(room) && <span className="lock"> (not allowed)</span>}
        </button>
      ))}
    </nav>
  );
}

/** A room: its chat lines, who is typing, and the refusal when there is one. */
export function Room({
  socket,
  room,
  me,
  onRefused,
}: {
  socket: AppSocket | undefined;
  room: string;
  me: string | undefined;
  onRefused: (room: string) => void;
}) {
  const channel = `room:${room}` as const;
  const [typing, setTyping] = useState<Record<string, number>>({});
  const view = useChannel(socket, channel, {
    onPublication: (p) => {
      if (p.event !== 'typing') return;
      const from = validEvent(typingEvent, p.payload)?.from;
      if (from === undefined || from === me) return;
      setTyping((old) => ({ ...old, [from]: Date.now() + TYPING_SHOWN_MS }));
    },
  });
  const list = useRef<HTMLOListElement>(null);
  // Only events that fit the server's own schemas are rendered: a malformed one is dropped.
  const lines = view.publications.flatMap((p) => {
    const line = p.event === 'chat' ? validEvent(chatLine, p.payload) : undefined;
    return line ? [line] : [];
  });

  useEffect(() => {
    if (view.state === 'unsubscribed' && view.error) onRefused(room);
  }, [view.state, view.error, room, onRefused]);
  useEffect(() => {
    const el = list.current;
    if (el && lines.length > 0) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  // Forget typists whose indicator ran out.
  useEffect(() => {
    const timer = setInterval(() => {
      setTyping((old) => {
        const now = Date.now();
        const kept = Object.entries(old).filter(([, until]) => until > now);
        return kept.length === Object.keys(old).length ? old : Object.fromEntries(kept);
      });
    }, 500);
    return () => clearInterval(timer);
  }, []);
  // A new room starts with nobody typing.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on room change only
  useEffect(() => setTyping({}), [room]);

  const typists = Object.keys(typing);
  const here = view.presence;
  return (
    <>
      {here && (
        <p className="presence" data-testid="presence" aria-live="polite">
          Here ({here.count}): {here.members.map((m) => m.userId).join(', ')}
          {here.count > here.members.length && ` and ${here.count - here.members.length} more`}
        </p>
      )}
      {view.recovered === false && (
        <p className="problem" role="status" data-testid="reloaded">
          You were away too long to catch up: #{room} was reloaded, messages sent meanwhile are not shown.
        </p>
      )}
      {view.state === 'unsubscribed' && view.error && (
        <p className="problem" role="alert" data-testid="room-problem">
          {describeRefusal(room, view.error)}
        </p>
      )}
      <ol
        className="messages"
        data-testid="messages"
        data-state={view.state}
        ref={list}
        aria-label={`#${room}`}
      >
        {lines.map((l) => (
          <li key={`${l.from}|${l.at}|${l.text}`}>
            <span className="from">{l.from}</span>
            <span className="text">{l.text}</span>
            <time dateTime={new Date(l.at).toISOString()}>{new Date(l.at).toLocaleTimeString()}</time>
          </li>
        ))}
        {lines.length === 0 && view.state !== 'unsubscribed' && (
          <li className="empty">No messages in #{room} yet. Say hello.</li>
        )}
      </ol>
      <p className="typing" data-testid="typing" aria-live="polite">
        {typists.length === 0
          ? '\u00a0'
          : `${typists.slice(0, 3).join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…`}
      </p>
    </>
  );
}

/** Publishes `typing` on the room at most every TYPING_EVERY_MS while the user types. */
export function useTypingSignal(socket: AppSocket | undefined, room: string) {
  const last = useRef(0);
  return () => {
    const now = Date.now();
    if (!socket || socket.state !== 'open' || now - last.current < TYPING_EVERY_MS) return;
    last.current = now;
    // A lost typing signal is harmless: no retry, no error shown.
    socket.publish(`room:${room}`, 'typing', {}).catch(() => {});
  };
}

/** Direct messages: received on `user:<me>`, sent with `dm {to, text}`. */
export function DirectMessages({
  socket,
  me,
  send,
  onProblem,
}: {
  socket: AppSocket | undefined;
  me: string | undefined;
  send: AppSocket['send'];
  onProblem: (err: unknown) => void;
}) {
  const inbox = useChannel(socket, me === undefined ? undefined : (`user:${me}` as const));
  const dms = inbox.publications.flatMap((p) => {
    const m = validEvent(chatLine, p.payload);
    return m ? [m] : [];
  });
  const [to, setTo] = useState('');
  const [text, setText] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = text.trim();
    if (!to.trim() || !body) return;
    setText('');
    send({ type: 'dm', payload: { to: to.trim(), text: body } }).catch(onProblem);
  };
  return (
    <section className="dms" aria-label="Inbox">
      <h2>Direct messages</h2>
      <ol data-testid="dms" data-state={inbox.state}>
        {dms.map((m) => (
          <li key={`${m.from}|${m.at}|${m.text}`}>
            <span className="from">{m.from}</span>
            <span className="text">{m.text}</span>
          </li>
        ))}
        {dms.length === 0 && <li className="empty">No direct messages.</li>}
      </ol>
      <form className="composer" onSubmit={submit}>
        <input
          aria-label="DM recipient"
          placeholder="user id"
          value={to}
          onChange={(e) => setTo(e.target.value)}
        />
        <input
          aria-label="DM text"
          placeholder="Message"
          value={text}
          maxLength={4000}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit">Send DM</button>
      </form>
    </section>
  );
}
