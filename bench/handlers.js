// Handlers for the benchmark's worker processes: a no-op, one that stamps when it started, and one that
// sleeps payload.ms (flow-control scenarios).
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';

export default {
  'bench.noop': async () => null,
  'bench.stamp': async () => ({ startedAt: performance.timeOrigin + performance.now() }),
  'bench.sleep': (payload) => new Promise((resolve) => setTimeout(resolve, payload?.ms ?? 50)),
};
