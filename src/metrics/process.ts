// prom-client's default process and Node.js metrics (CPU, memory, event-loop lag, GC), minus the three
// `nodejs_active_*_total` gauges whose names break Prometheus naming (`_total` is for counters;
// `promtool check metrics` rejects them). The same numbers remain as nodejs_active_{handles,requests,resources}.
import { collectDefaultMetrics, type Registry } from 'prom-client';

const MISNAMED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];
const done = new WeakSet<Registry>();

/** Adds the default process metrics to a registry once (later calls for the same registry do nothing). */
export function registerProcessMetrics(registry: Registry): void {
  if (done.has(registry)) return;
  done.add(registry);
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED) registry.removeSingleMetric(name);
}
