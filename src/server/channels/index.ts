import { APP_TYPE_PATTERN, type ErrorCode, isChannelName } from '../../protocol/index.js';
import { AppError, appErrorFrame } from '../app-error.js';
import type { Principal } from '../connection/state.js';
import { DEFAULTS } from '../defaults.js';
import { WsgConfigError, WsgError } from '../errors.js';
import type { ChannelRequest } from '../pipeline/envelope.js';
import { ackFrame, errorFrame } from '../pipeline/frames.js';
import type { MessageContext } from '../pipeline/types.js';
import type { HistoryStore, PresenceStore, PubSub } from '../stores/types.js';
import { type ChannelMatch, createPatterns } from './patterns.js';
import { createRegistry, type Member, publicationFrame, unsubscribedFrame } from './registry.js';
import { createStreams } from './stream.js';
import type {
  ChannelAction,
  ChannelOptions,
  ChannelStats,
  ChannelsOptions,
  UnsubscribeOptions,
} from './types.js';

export { capabilities, capabilityAllows } from './capabilities.js';
export type * from './types.js';

const CONTROL = 'wsguard:chctl';

/** A socket with a pipeline: the refusals of channel requests are counted like any refusal. */
export interface ChannelMember extends Member {
  event(e: { event: 'handler.error'; level: 'error'; code: ErrorCode; detail: string }): void;
}

export interface ChannelsDeps {
  options: ChannelsOptions<never> | undefined;
  maxSubscriptions: number | undefined;
  store: PubSub & { history?: HistoryStore; presence?: PresenceStore };
  /** Counts and logs a refusal (penalty ladder, anomaly score, stats). */
  refused(member: ChannelMember, error: WsgError, m: MessageContext): void;
  /** A history or presence operation failed in the store (logged; the request is still answered). */
  storeFailed?(detail: string): void;
}

type Config = ChannelOptions<Principal>;

const unknownChannel = (detail: string) => new WsgError('WSG_UNKNOWN_CHANNEL', { detail });

/**
 * Channels: the subscribe / unsubscribe / publish requests of clients, the server's own publish,
 * sendToUser and unsubscribe, and the re-check of every subscription when a token is refreshed.
 */
export function createChannels(deps: ChannelsDeps) {
  const declared = (deps.options ?? {}) as unknown as Record<string, Config>;
  for (const [pattern, config] of Object.entries(declared)) {
    if (typeof config?.authorize !== 'function') {
      throw new WsgConfigError(
        'WSG_CONFIG_INVALID_CHANNEL',
        `channels['${pattern}'] needs an authorize function`,
      );
    }
    for (const [event, schema] of Object.entries(config.publish ?? {})) {
      if (!APP_TYPE_PATTERN.test(event))
        throw new WsgConfigError('WSG_CONFIG_INVALID_CHANNEL', `channels['${pattern}'] event '${event}'`);
      if (typeof (schema as { _zod?: unknown })?._zod !== 'object') {
        throw new WsgConfigError(
          'WSG_CONFIG_INVALID_CHANNEL',
          `channels['${pattern}'].publish.${event} must be a Zod 4 schema`,
        );
      }
    }
  }
  const patterns = createPatterns(declared);
  const max = deps.maxSubscriptions ?? DEFAULTS.maxSubscriptions;
  if (!Number.isInteger(max) || max < 0)
    throw new WsgConfigError('WSG_CONFIG_INVALID_NUMBER', `maxSubscriptions must be an integer >= 0`);
  const registry = createRegistry(deps.store, (member, channel) => streams.left(member, channel));
  const streams = createStreams({
    registry,
    history: deps.store.history,
    presence: deps.store.presence,
    declared: declared as Record<string, ChannelOptions<never>>,
    publish: (channel, frame) => registry.publish(channel, frame),
    failed: (detail) => deps.storeFailed?.(detail),
  });
  /** Subscribes whose authorize is still running, per socket: they count toward the limit. */
  const pending = new WeakMap<Member, number>();

  const ask = (
    match: ChannelMatch<Config>,
    user: Principal,
    action: ChannelAction,
  ): boolean | Promise<boolean> => {
    const rule =
      action === 'publish'
        ? (match.config.authorizePublish ?? match.config.authorize)
        : match.config.authorize;
    return rule(user, match.params, { channel: match.name, pattern: match.pattern, action });
  };

  /** The reply to a refused request; an app error keeps its code, any other throw is WSG_INTERNAL. */
  const refuse = (member: ChannelMember, m: MessageContext, err: unknown): string => {
    if (err instanceof AppError) return appErrorFrame(err, m.id);
    if (!(err instanceof WsgError)) {
      member.event({
        event: 'handler.error',
        level: 'error',
        code: 'WSG_INTERNAL',
        detail: `channel ${m.type}: ${String((err as Error)?.stack ?? err)}`,
      });
      return errorFrame('WSG_INTERNAL', m.id);
    }
    deps.refused(member, err, m);
    return errorFrame(err.code, m.id, err.retryAfterMs);
  };

  /** Settles a sync-or-async decision, then continues; a throw becomes the refusal. */
  const after = <T>(
    value: T | Promise<T>,
    next: (v: T) => string | Promise<string | undefined>,
    onError: (err: unknown) => string,
  ): string | Promise<string | undefined> => {
    if (value instanceof Promise) return value.then(next).catch(onError);
    try {
      return next(value);
    } catch (err) {
      return onError(err);
    }
  };

  const subscribe = (member: ChannelMember, m: MessageContext, req: ChannelRequest) => {
    const match = patterns.match(req.channel);
    if (!match) return refuse(member, m, unknownChannel(req.channel.slice(0, 140)));
    const ack = ackFrame(m.id as string, { channel: match.name });
    if (registry.has(member, match.name)) return ack;
    const inFlight = pending.get(member) ?? 0;
    if (registry.count(member) + inFlight >= max) {
      return refuse(member, m, new WsgError('WSG_TOO_MANY_SUBSCRIPTIONS', { detail: `max ${max}` }));
    }
    pending.set(member, inFlight + 1);
    const done = () => pending.set(member, (pending.get(member) ?? 1) - 1);
    let decision: boolean | Promise<boolean>;
    try {
      decision = ask(match, member.user as Principal, 'subscribe');
    } catch (err) {
      done();
      return refuse(member, m, err);
    }
    return after(
      decision,
      (ok) => {
        done();
        if (ok !== true) return refuse(member, m, new WsgError('WSG_FORBIDDEN', { detail: match.name }));
        if (member.state !== 'open') return ack;
        if (registry.has(member, match.name)) return ack;
        const sub = { params: match.params, pattern: match.pattern, checked: true };
        if (streams.handles(match.pattern)) {
          // The ack goes out from there, followed by the replay: nothing left to send here.
          return streams
            .subscribe(member, match, sub, req.since, (result) => ackFrame(m.id as string, result))
            .then(
              () => undefined,
              (err: unknown) => {
                registry.remove(member, match.name);
                return refuse(member, m, err);
              },
            );
        }
        const ready = registry.add(member, match.name, sub);
        return ready ? ready.then(() => ack) : ack;
      },
      (err) => {
        done();
        return refuse(member, m, err);
      },
    );
  };

  const publish = (member: ChannelMember, m: MessageContext, req: ChannelRequest) => {
    const match = patterns.match(req.channel);
    if (!match) return refuse(member, m, unknownChannel(req.channel.slice(0, 140)));
    const event = req.event as string;
    const events = match.config.publish;
    const schema = events && Object.hasOwn(events, event) ? events[event] : undefined;
    if (!schema)
      return refuse(member, m, new WsgError('WSG_FORBIDDEN', { detail: `undeclared event ${event}` }));
    const user = member.user as Principal;
    return after(
      schema.safeParseAsync(req.payload),
      (parsed) => {
        if (!parsed.success) {
          return refuse(
            member,
            m,
            new WsgError('WSG_VALIDATION_FAILED', { detail: `${match.name} ${event}` }),
          );
        }
        return after(
          ask(match, user, 'publish'),
          (ok) => {
            if (ok !== true) return refuse(member, m, new WsgError('WSG_FORBIDDEN', { detail: match.name }));
            const transform = match.config.transformPublish;
            const payload = transform ? transform(user, event, parsed.data, match.params) : parsed.data;
            const frame = publicationFrame(match.name, event, payload);
            const sent = streams.append(match, frame) ?? registry.publish(match.name, frame);
            const ack = ackFrame(m.id as string, undefined);
            return sent instanceof Promise ? sent.then(() => ack) : ack;
          },
          (err) => refuse(member, m, err),
        );
      },
      (err) => refuse(member, m, err),
    );
  };

  const dropLocal = (channel: string, code: ErrorCode, userId?: string) => {
    for (const member of registry.members(channel)) {
      if (userId !== undefined && member.user?.id !== userId) continue;
      if (registry.remove(member, channel)) member.sendFrame(unsubscribedFrame(channel, code));
    }
  };
  const unsubscribeControl = deps.store.subscribe(CONTROL, (message) => {
    try {
      const { channel, userId } = JSON.parse(message) as { channel?: unknown; userId?: unknown };
      if (!isChannelName(channel)) return;
      dropLocal(channel, 'WSG_FORBIDDEN', typeof userId === 'string' ? userId : undefined);
    } catch {
      // Not ours: another publisher on the channel.
    }
  });

  const declaredName = (channel: string) => {
    const match = patterns.match(channel);
    if (!match) throw unknownChannel(String(channel).slice(0, 140));
    return match;
  };
  const serverPublish = async (channel: string, event: string, payload: unknown) => {
    const match = declaredName(channel);
    if (typeof event !== 'string' || !APP_TYPE_PATTERN.test(event)) {
      throw new WsgConfigError(
        'WSG_CONFIG_INVALID_ARGUMENT',
        `publish: event '${String(event)}' is not a valid name`,
      );
    }
    const frame = publicationFrame(match.name, event, payload);
    await (streams.append(match, frame) ?? registry.publish(match.name, frame));
  };

  return {
    /** Answers a subscribe, unsubscribe or publish: the ack or error frame for the message's id. */
    request(member: ChannelMember, m: MessageContext): string | Promise<string | undefined> {
      const req = m.payload as ChannelRequest;
      if (m.type === 'subscribe') return subscribe(member, m, req);
      if (m.type === 'publish') return publish(member, m, req);
      if (!isChannelName(req.channel))
        return refuse(member, m, unknownChannel(String(req.channel).slice(0, 140)));
      registry.remove(member, req.channel);
      return ackFrame(m.id as string, undefined);
    },
    /** `ctx.subscribe`: server code decides, so no authorize; still a declared name and the limit. */
    async subscribeAs(member: Member, channel: string): Promise<void> {
      const match = declaredName(channel);
      if (registry.has(member, match.name)) return;
      if (registry.count(member) >= max) throw new WsgError('WSG_TOO_MANY_SUBSCRIPTIONS');
      await registry.add(member, match.name, {
        params: match.params,
        pattern: match.pattern,
        checked: false,
      });
      await streams.joined(member, match);
    },
    unsubscribeAs(member: Member, channel: string): void {
      registry.remove(member, channel);
    },
    /** Whether the user may subscribe to (or publish on) a channel, as a client's request would be decided. */
    async allowed(user: Principal, channel: string, action: ChannelAction = 'subscribe'): Promise<boolean> {
      const match = patterns.match(channel);
      if (!match) return false;
      return (await ask(match, user, action)) === true;
    },
    publish: serverPublish,
    async sendToUser(userId: string, frame: string): Promise<void> {
      await registry.sendToUser(userId, frame);
    },
    async unsubscribe(channel: string, options: UnsubscribeOptions = {}): Promise<void> {
      if (!isChannelName(channel)) throw unknownChannel(String(channel).slice(0, 140));
      await deps.store.publish(
        CONTROL,
        JSON.stringify(options.userId === undefined ? { channel } : { channel, userId: options.userId }),
      );
    },
    authenticated(member: Member): void {
      if (member.user) registry.joinUser(member, member.user.id);
    },
    /**
     * The token was refreshed: every subscription a client asked for is asked of authorize again
     * with the new claims; a lost right drops it with `unsubscribed` WSG_FORBIDDEN.
     */
    refreshed(member: ChannelMember): void {
      const subs = registry.subscriptions(member);
      const user = member.user;
      if (!subs || !user) return;
      for (const [channel, sub] of [...subs]) {
        if (!sub.checked) continue;
        const match = patterns.match(channel);
        const drop = () => {
          if (registry.remove(member, channel)) member.sendFrame(unsubscribedFrame(channel, 'WSG_FORBIDDEN'));
        };
        if (!match) {
          drop();
          continue;
        }
        // Fails closed: an authorize that throws on refresh loses the subscription.
        void Promise.resolve()
          .then(() => ask(match, user, 'subscribe'))
          .then(
            (ok) => ok !== true && member.user === user && drop(),
            () => drop(),
          );
      }
    },
    /** The session was revoked: each subscription is dropped with `unsubscribed`, before the close. */
    revoked(member: Member, code: ErrorCode): void {
      const subs = registry.subscriptions(member);
      if (!subs) return;
      for (const channel of [...subs.keys()]) {
        if (registry.remove(member, channel)) member.sendFrame(unsubscribedFrame(channel, code));
      }
    },
    closed(member: Member): void {
      const subs = registry.subscriptions(member);
      if (subs) for (const channel of [...subs.keys()]) registry.remove(member, channel);
      if (member.user) registry.leaveUser(member, member.user.id);
      pending.delete(member);
    },
    maxSubscriptions: max,
    stats: (): ChannelStats => registry.stats(),
    close(): void {
      unsubscribeControl();
      streams.close();
      registry.close();
    },
  };
}

export type Channels = ReturnType<typeof createChannels>;
