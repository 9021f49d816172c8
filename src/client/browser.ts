interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

function target(name: 'window' | 'document'): EventTargetLike | undefined {
  const t = (globalThis as Record<string, unknown>)[name] as Partial<EventTargetLike> | undefined;
  return typeof t === 'object' && t !== null && typeof t.addEventListener === 'function'
    ? (t as EventTargetLike)
    : undefined;
}

/** True only when a browser says it is offline; anywhere else we cannot know, so assume online. */
export function isOffline(): boolean {
  const nav = (globalThis as { navigator?: { onLine?: unknown } }).navigator;
  return typeof nav === 'object' && nav !== null && nav.onLine === false;
}

function isVisible(): boolean {
  const doc = (globalThis as { document?: { visibilityState?: unknown } }).document;
  return typeof doc !== 'object' || doc === null || doc.visibilityState !== 'hidden';
}

export interface BrowserSignals {
  online(): void;
  offline(): void;
  /** The page became visible again (timers may have been throttled while it was hidden). */
  visible(): void;
}

/** Listens to `online`/`offline` and page visibility where they exist; returns the unsubscribe. */
export function watchBrowser(signals: BrowserSignals): () => void {
  const win = target('window');
  const doc = target('document');
  const online = () => signals.online();
  const offline = () => signals.offline();
  const visibility = () => {
    if (isVisible()) signals.visible();
  };
  win?.addEventListener('online', online);
  win?.addEventListener('offline', offline);
  doc?.addEventListener('visibilitychange', visibility);
  return () => {
    win?.removeEventListener('online', online);
    win?.removeEventListener('offline', offline);
    doc?.removeEventListener('visibilitychange', visibility);
  };
}

/**
 * The browser's signals as a client uses them: back online or visible again wakes a waiting
 * reconnect; offline or visible again checks an open connection's health at once.
 */
export function watchClient(client: { open(): boolean; check(): void; wake(why: string): void }): () => void {
  return watchBrowser({
    online: () => client.wake('online'),
    offline: () => {
      if (client.open()) client.check();
    },
    visible: () => {
      if (client.open()) client.check();
      else client.wake('visible');
    },
  });
}
