/**
 * The seed's "complete React example": a small chat on wsguard, in rooms. It shows the
 * connection state, the latency and the queue, a room list (a refused room shown as such), who
 * is typing, direct messages, and says in plain words why a send failed. User text is rendered
 * as text (React escapes it); never as HTML.
 */
import { type FormEvent, useCallback, useState } from 'react';
import { type SecureWebSocketError, ServerError } from 'wsguard/client';
import { useSecureWebSocket } from 'wsguard/react';
import {
  APP_DEFAULTS,
  type AppChannels,
  type AppIncoming,
  type AppOutgoing,
  defaultSocketUrl,
  tokenSubject,
} from '../utils/secureWebSocket';
import { ErrorBoundary } from './error-boundary';
import { DirectMessages, Room, RoomList, useTypingSignal } from './rooms';

export interface WebSocketExampleProps {
  /** A token, or a function that fetches a fresh one on every connect. */
  token: string | (() => Promise<string>);
  /** @default the page's own host at /ws */
  url?: string;
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
      case 'WSG_FORBIDDEN':
        return 'You are not allowed to post there.';
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
  const [draft, setDraft] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [room, setRoom] = useState('general');
  const [refused, setRefused] = useState<ReadonlySet<string>>(new Set());
  const [me, setMe] = useState(typeof token === 'string' ? tokenSubject(token) : undefined);
  const ws = useSecureWebSocket<AppOutgoing, AppIncoming, AppChannels>({
    url: url ?? defaultSocketUrl(),
    ...(typeof token === 'string'
      ? { authToken: token }
      : {
          getToken: async () => {
            const t = await token();
            setMe(tokenSubject(t));
            return t;
          },
        }),
    reconnect: APP_DEFAULTS.reconnect,
    // Tell the user at once when they type too fast, instead of resending later.
    retryRateLimited: false,
  });
  const typed = useTypingSignal(ws.socket, room);
  const onRefused = useCallback((r: string) => setRefused((old) => new Set(old).add(r)), []);
  const onProblem = useCallback((err: unknown) => setProblem(describeSendError(err)), []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft('');
    setProblem(undefined);
    ws.send({ type: 'chat', payload: { room, text } }).catch(onProblem);
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
        {ws.waitReason === 'paced' ? <span data-testid="paced">sending slower: server limit</span> : null}
      </p>
      <p className="meta">
        <span data-testid="me">{me === undefined ? 'signing in…' : `you are ${me}`}</span>
      </p>
      <RoomList
        current={room}
        refused={refused}
        onPick={(r) => {
          setProblem(undefined);
          setRoom(r);
        }}
      />
      <ErrorBoundary name="room">
        <Room socket={ws.socket} room={room} me={me} onRefused={onRefused} />
      </ErrorBoundary>
      <form className="composer" onSubmit={submit}>
        <input
          aria-label="Message"
          value={draft}
          maxLength={4000}
          placeholder={`Message #${room}`}
          onChange={(e) => {
            setDraft(e.target.value);
            if (e.target.value) typed();
          }}
        />
        <button type="submit">Send</button>
      </form>
      <ErrorBoundary name="inbox">
        <DirectMessages socket={ws.socket} me={me} send={ws.send} onProblem={onProblem} />
      </ErrorBoundary>
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
