/**
 * The events this app's server sends, each with its Zod schema: the server builds them to
 * these shapes, and the React example validates every event it receives against the same
 * schemas before rendering (a malformed or hostile event is dropped, never rendered).
 * Imports only zod, so the page bundles it.
 */
import { z } from 'zod';

/** A user id as the server names users (the `dm` target has the same shape). */
const userId = z.string().min(1).max(256);

/** The largest time `Date` can show; a later one throws "Invalid time value" in render. */
const MAX_DATE_MS = 8.64e15;

/** A chat line or a direct message: who, what, when (ms since the epoch). */
export const chatLine = z.object({
  from: userId,
  text: z.string().max(4000),
  at: z.number().int().min(0).max(MAX_DATE_MS),
});

/** Someone is typing in a room (the server adds `from`). */
export const typingEvent = z.object({ from: userId });

export type ChatLine = z.output<typeof chatLine>;

/** event -> schema, per channel family. */
export const roomEvents = { chat: chatLine, typing: typingEvent };
export const inboxEvents = { dm: chatLine };

/** The payload if it fits the event's schema, else undefined. */
export function validEvent<S extends z.ZodType>(
  schema: S | undefined,
  payload: unknown,
): z.output<S> | undefined {
  if (schema === undefined) return undefined;
  const r = schema.safeParse(payload);
  return r.success ? r.data : undefined;
}
