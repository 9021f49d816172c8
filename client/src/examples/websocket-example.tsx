/**
 * The seed's "complete React example": a small chat on wsguard. It shows the connection state,
 * the latency and the queue, lists messages, and says in plain words why a send failed. User
 * text is rendered as text (React escapes it); never as HTML.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { type SecureWebSocketError, ServerError } from 'wsguard/client';
import { useSecureWebSocket } from 'wsguard/react';
import { APP_DEFAULTS, type AppIncoming, type AppOutgoing, defaultSocketUrl } from '../utils/secureWebSocket';

export interface WebSocketExampleProps {
  /** A token, or a function that fetches a fresh one on every connect. */
  token: string | (() => Promise<string>);
  /** @default the page's own host at /ws */
  url?: string;
}

interface ChatLine {
  key: string;
  from: string;
  text: string;
  at: number;
}

const STATE_LABEL: Record<string, string> = {
  idle: 'starting',
  connecting: 'connecting',
  authenticating: 'signing in',
  open: 'connected',
  reconnecting: 'reconnecting',
  closed: 'disconnected',
};

/** Why a send failed, in words a user understands. */
export function describeSendError(err: unknown): string {
  if (err instanceof ServerError) {
    const wait = err.retryAfterMs ? ` Try again in ${Math.ceil(err.retryAfterMs / 1000)} s.` : '';
    switch (err.code) {
      case 'WSG_RATE_LIMITED':
        return `You are sending messages too fast.${wait || ' Wait a moment and try again.'}`;
      case 'WSG_BLOCKED':
        return `Too many messages: sending is paused for a while.${wait}`;
      case 'WSG_VALIDATION_FAILED':
        return 'That message cannot be sent: it is empty, longer than 2,000 characters, or has hidden control characters.';
      case 'WSG_MESSAGE_TOO_LARGE':
        return 'That message is too large.';
      default:
        return 'The server could not take that message. Please try again.';
    }
  }
  const name = (err as SecureWebSocketError | undefined)?.name;
  if (name === 'QueueOverflowError')
    return 'Too many messages are waiting for the connection. Try again when connected.';
  if (name === 'MessageExpiredError') return 'The connection was gone too long; that message was not sent.';
  if (name === 'ClosedError') return 'The connection is closed; that message was not sent.';
  return 'Sending failed. Please try again.';
}

export function WebSocketExample({ token, url }: WebSocketExampleProps) {
  const [lines, setLines] = useState<ChatLine[]>([]);
  const [draft, setDraft] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const list = useRef<HTMLOListElement>(null);
  const ws = useSecureWebSocket<AppOutgoing, AppIncoming>({
    url: url ?? defaultSocketUrl(),
    ...(typeof token === 'string' ? { authToken: token } : { getToken: token }),
    reconnect: APP_DEFAULTS.reconnect,
    // Tell the user at once when they type too fast, instead of resending later.
    retryRateLimited: false,
    onMessage: (m) => {
      if (m.type !== 'chat') return;
      const p = m.payload as AppIncoming['chat'];
      setLines((old) => [
        ...old.slice(-199),
        { key: `${p.at}-${old.length}`, from: p.from, text: p.text, at: p.at },
      ]);
    },
  });

  // Keep the newest line in view.
  useEffect(() => {
    const el = list.current;
    if (el && lines.length > 0) el.scrollTop = el.scrollHeight;
  }, [lines]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft('');
    setProblem(undefined);
    ws.send({ type: 'chat', payload: { text } }).catch((err: unknown) => setProblem(describeSendError(err)));
  };

  return (
    <section className="chat" aria-label="Chat">
      <header className="chat-header">
        <h1>wsguard chat</h1>
        <span className={`badge badge-${ws.state}`} data-testid="state">
          {STATE_LABEL[ws.state] ?? ws.state}
        </span>
      </header>
      <p className="meta">
        <span data-testid="latency">
          latency {ws.latencyMs === undefined ? '–' : `${Math.round(ws.latencyMs)} ms`}
        </span>
        <span data-testid="queued">{ws.queueSize} queued</span>
      </p>
      <ol className="messages" data-testid="messages" ref={list}>
        {lines.map((l) => (
          <li key={l.key}>
            <span className="from">{l.from}</span>
            <span className="text">{l.text}</span>
            <time dateTime={new Date(l.at).toISOString()}>{new Date(l.at).toLocaleTimeString()}</time>
          </li>
        ))}
        {lines.length === 0 && <li className="empty">No messages yet. Say hello.</li>}
      </ol>
      <form className="composer" onSubmit={submit}>
        <input
          aria-label="Message"
          value={draft}
          maxLength={4000}
          placeholder="Type a message"
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit">Send</button>
      </form>
      {problem && (
        <p className="problem" role="alert" data-testid="problem">
          {problem}
        </p>
      )}
      {ws.error && ws.state !== 'open' && (
        <p className="problem" role="alert">
          {ws.error.name === 'AuthError' ? 'Signing in failed.' : 'Connection problem; retrying.'}
        </p>
      )}
    </section>
  );
}

export default WebSocketExample;
