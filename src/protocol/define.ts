/**
 * A protocol object shared by server and client: message types, server events and channels with
 * their publications, each described by a schema. The client only needs the types, so schemas
 * are taken generically (anything implementing Standard Schema, such as Zod 3.24+ and 4): this
 * module imports no schema library and costs nothing at run time.
 */

/** The part of the Standard Schema interface (https://standardschema.dev) the types read. */
export interface SchemaLike<Output = unknown> {
  readonly '~standard': { readonly types?: { readonly output: Output } | undefined };
}

/** The value a schema accepts after parsing: `z.infer` without importing Zod. */
export type Infer<S> = S extends { readonly '~standard': { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly output: infer O }
    ? O
    : unknown
  : unknown;

/** One message type: its payload schema, or `{ payload, result }` when the ack carries a typed result. */
export type MessageDef = SchemaLike | { readonly payload: SchemaLike; readonly result?: SchemaLike };

/** One channel pattern. */
export interface ChannelDef {
  /** Events clients may publish on the channel (the server validates them with these schemas). */
  readonly publish?: Readonly<Record<string, SchemaLike>>;
  /** Events only the server publishes there. */
  readonly events?: Readonly<Record<string, SchemaLike>>;
}

export interface ProtocolDef {
  /** Client -> server message types. */
  readonly messages?: Readonly<Record<string, MessageDef>>;
  /** Server -> client application events (`{type, payload}` frames outside channels). */
  readonly events?: Readonly<Record<string, SchemaLike>>;
  /** Channel patterns with named parameters, e.g. `room:{name}`, `user:{id}`. */
  readonly channels?: Readonly<Record<string, ChannelDef>>;
}

/**
 * Declares the protocol once, for `setupWebSockets` (which reads `messages` and the channels'
 * `publish` schemas) and for the client (which reads only the types). Returns its argument.
 */
export function defineProtocol<const P extends ProtocolDef>(protocol: P): P {
  return protocol;
}

type PayloadSchemaOf<D> = D extends { readonly payload: infer S } ? S : D;
type ResultOf<D> = D extends { readonly result: infer R } ? Infer<R> : unknown;

/** `{ type: { payload, result } }` of a protocol's messages: the client's outgoing map. */
export type OutgoingOf<P extends ProtocolDef> = P['messages'] extends infer M extends Record<
  string,
  MessageDef
>
  ? { [K in keyof M & string]: { payload: Infer<PayloadSchemaOf<M[K]>>; result: ResultOf<M[K]> } }
  : Record<string, never>;

/** `{ type: payload }` of a protocol's server events: the client's incoming map. */
export type IncomingOf<P extends ProtocolDef> = P['events'] extends infer E extends Record<string, SchemaLike>
  ? { [K in keyof E & string]: Infer<E[K]> }
  : Record<string, never>;

/** `room:{name}` -> `room:${string}`: the channel names a pattern matches, as a type. */
export type PatternNames<Pattern extends string> = Pattern extends `${infer Head}{${string}}${infer Tail}`
  ? `${Head}${string}${PatternNames<Tail>}`
  : Pattern;

type EventSchemas<D> = (D extends { readonly publish: infer Pu } ? Pu : unknown) &
  (D extends { readonly events: infer Ev } ? Ev : unknown);

/** Per channel pattern: the channel names it matches, the events it carries, the publishable ones. */
export interface ChannelTypes {
  names: string;
  /** event -> payload, for every event a subscriber may receive. */
  events: Record<string, unknown>;
  /** event -> payload, for the events a client may publish. */
  publish: Record<string, unknown>;
}

/** The channel map a typed client uses: pattern -> ChannelTypes. */
export type ChannelMap = Record<string, ChannelTypes>;

/** Any channel, any event: the untyped client's channel map. */
export type AnyChannels = {
  [pattern: string]: {
    names: string;
    events: Record<string, unknown>;
    publish: Record<string, unknown>;
  };
};

export type ChannelsOf<P extends ProtocolDef> = P['channels'] extends infer C extends Record<
  string,
  ChannelDef
>
  ? {
      [K in keyof C & string]: {
        names: PatternNames<K>;
        events: { [E in keyof EventSchemas<C[K]> & string]: Infer<EventSchemas<C[K]>[E]> };
        publish: C[K] extends { readonly publish: infer Pu }
          ? { [E in keyof Pu & string]: Infer<Pu[E]> }
          : Record<never, never>;
      };
    }
  : Record<never, never>;

/** Every channel name a client may subscribe to. */
export type ChannelName<C extends ChannelMap> = C[keyof C]['names'];

/** The patterns whose names include `Name` (`room:staff` matches both `room:staff` and `room:{name}`). */
type PatternsOf<C extends ChannelMap, Name extends string> = {
  [K in keyof C]: Name extends C[K]['names'] ? K : never;
}[keyof C];

/** event -> payload of the publications a subscriber of `Name` may receive. */
export type ChannelEvents<C extends ChannelMap, Name extends string> = UnionToMerged<
  C[PatternsOf<C, Name>]['events']
>;

/** event -> payload of the events a client may publish on `Name`. */
export type ChannelPublish<C extends ChannelMap, Name extends string> = UnionToMerged<
  C[PatternsOf<C, Name>]['publish']
>;

type UnionToMerged<U> = {
  [K in U extends unknown ? keyof U : never]: U extends Record<K, infer V> ? V : never;
};

/**
 * `type -> payload schema` of a protocol's messages, the shape `setupWebSockets({ messages })`
 * takes (a `{ payload, result }` entry gives its payload schema).
 */
export function messageSchemas<const M extends Readonly<Record<string, MessageDef>>>(
  messages: M,
): { [K in keyof M]: PayloadSchemaOf<M[K]> } {
  const out: Record<string, unknown> = {};
  for (const [type, def] of Object.entries(messages)) {
    out[type] = '~standard' in def ? def : def.payload;
  }
  return out as { [K in keyof M]: PayloadSchemaOf<M[K]> };
}
