export interface BackpressureOptions {
  /** Bytes a socket may have queued for sending before it counts as a slow reader. @default 1048576 (1 MiB) */
  maxBufferedBytes?: number;
  /** How long a socket may stay over `maxBufferedBytes` before it is closed 1013. @default 5000 */
  graceMs?: number;
  /** Past this many queued bytes the socket is closed at once and nothing more is queued. @default 4 x maxBufferedBytes */
  hardLimitBytes?: number;
}

export type ResolvedBackpressure = Required<BackpressureOptions>;
