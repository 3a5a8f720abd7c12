// The data side of `jobq top`: polls a loader every interval (never two loads at once), keeps the last
// good snapshot through failures and reports the error, so a lost database shows inline and recovers.
// A slow load stretches the interval (nextDelay), so watching a huge backlog never loads the database much.
import { useCallback, useEffect, useRef, useState } from 'react';

export interface SnapshotState<T> {
  data: T | null;
  /** Message of the last failed load; null once a load succeeds again. */
  error: string | null;
  /** When the shown data was loaded. */
  loadedAt: Date | null;
  /** When the current run of failures began. */
  failingSince: Date | null;
}

/**
 * The wait before the next load: the interval, stretched so that loading takes at most a fifth of the
 * time (a huge backlog makes counting slower; watching it must not load the database much).
 */
export function nextDelay(intervalMs: number, lastLoadMs: number): number {
  return Math.max(intervalMs, 4 * lastLoadMs);
}

/** Loads now and then every intervalMs; refresh() loads again at once (after any load in flight). */
export function useSnapshot<T>(
  load: () => Promise<T>,
  intervalMs: number,
): SnapshotState<T> & { refresh: () => void } {
  const [state, setState] = useState<SnapshotState<T>>({
    data: null,
    error: null,
    loadedAt: null,
    failingSince: null,
  });
  const kick = useRef<() => void>(() => undefined);

  useEffect(() => {
    let alive = true;
    let timer: NodeJS.Timeout | undefined;
    let inFlight = false;
    let again = false;
    const run = async (): Promise<void> => {
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      clearTimeout(timer);
      const began = Date.now();
      try {
        const data = await load();
        if (alive) setState({ data, error: null, loadedAt: new Date(), failingSince: null });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (alive)
          setState((s) => ({
            ...s,
            error: message || 'load failed',
            failingSince: s.failingSince ?? new Date(),
          }));
      } finally {
        inFlight = false;
      }
      if (!alive) return;
      if (again) {
        again = false;
        void run();
      } else timer = setTimeout(() => void run(), nextDelay(intervalMs, Date.now() - began));
    };
    kick.current = () => void run();
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [load, intervalMs]);

  const refresh = useCallback(() => kick.current(), []);
  return { ...state, refresh };
}
