// Event-loop stall detection: a timer that should fire every 100 ms notices when it fired much later —
// the event loop was blocked (a CPU-bound handler on the main thread), and leases went unrenewed meanwhile.

/** Calls onStall(ms) after each stall of at least `thresholdMs`; stop() ends it. */
export function startStallMonitor(thresholdMs: number, onStall: (ms: number) => void): { stop(): void } {
  const every = Math.min(100, Math.max(10, Math.floor(thresholdMs / 4)));
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - every;
    last = now;
    if (late >= thresholdMs) onStall(late + every);
  }, every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
