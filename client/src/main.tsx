import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ErrorBoundary } from './examples/error-boundary';
import { WebSocketExample } from './examples/websocket-example';
import './styles.css';

/**
 * The demo server hands out a development token (never in production); `?user=alice` on the
 * page asks for that user (from this machine only), to try rooms and DMs as known users.
 */
async function devToken(): Promise<string> {
  const user = new URLSearchParams(location.search).get('user');
  const res = await fetch(user ? `/dev-token?user=${encodeURIComponent(user)}` : '/dev-token', {
    cache: 'no-store',
  });
  if (!res.ok) throw new Error(`no dev token (${res.status})`);
  return ((await res.json()) as { token: string }).token;
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ErrorBoundary name="chat">
        <WebSocketExample token={devToken} />
      </ErrorBoundary>
    </StrictMode>,
  );
}
