// Handlers for the benchmark's worker processes: a no-op, and one that stamps when it started.
import { performance } from 'node:perf_hooks';

export default {
  'bench.noop': async () => null,
  'bench.stamp': async () => ({ startedAt: performance.timeOrigin + performance.now() }),
};
