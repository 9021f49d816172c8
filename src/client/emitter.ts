type Listener<A> = (arg: A) => void;

/** A tiny typed event emitter; a throwing listener is reported, never propagated. */
export interface Emitter<M> {
  on<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void;
  off<K extends keyof M>(type: K, listener: Listener<M[K]>): void;
  emit<K extends keyof M>(type: K, arg: M[K]): void;
  has<K extends keyof M>(type: K): boolean;
}

export function createEmitter<M>(onListenerError: (err: unknown, type: keyof M) => void): Emitter<M> {
  const listeners = new Map<keyof M, Set<Listener<never>>>();
  const off = <K extends keyof M>(type: K, listener: Listener<M[K]>) => {
    listeners.get(type)?.delete(listener as Listener<never>);
  };
  return {
    on(type, listener) {
      let set = listeners.get(type);
      if (!set) {
        set = new Set();
        listeners.set(type, set);
      }
      set.add(listener as Listener<never>);
      return () => off(type, listener);
    },
    off,
    emit(type, arg) {
      const set = listeners.get(type);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          (listener as Listener<typeof arg>)(arg);
        } catch (err) {
          onListenerError(err, type);
        }
      }
    },
    has(type) {
      return (listeners.get(type)?.size ?? 0) > 0;
    },
  };
}
