// The three panels of `jobq top`: queues (counts, throughput sparkline, oldest ready, paused, limits), recent
// failures (RETRY and DEAD with their error) and workers online (queues, load, heartbeat).
import { Box, Text } from 'ink';
import type { FailureRow, QueueOverview, WorkerRow } from '../../queue/overview.js';
import { age, ago, count, sparkline } from '../format.js';
import { Table, type Column } from './Table.js';

const QUEUE_COLUMNS: Column[] = [
  { key: 'queue', header: 'QUEUE', width: 'flex', min: 6, max: 24 },
  { key: 'pending', header: 'PENDING', width: 7, align: 'right' },
  { key: 'running', header: 'RUNNING', width: 7, align: 'right' },
  { key: 'retry', header: 'RETRY', width: 5, align: 'right', hideBelow: 60 },
  { key: 'dead', header: 'DEAD', width: 5, align: 'right' },
  { key: 'done', header: 'DONE/1m', width: 7, align: 'right', hideBelow: 60 },
  { key: 'trend', header: 'THROUGHPUT', width: 12, hideBelow: 80 },
  { key: 'oldest', header: 'OLDEST', width: 7, align: 'right', hideBelow: 70 },
  { key: 'state', header: 'STATE', width: 6, hideBelow: 50 },
  { key: 'limit', header: 'LIMITS', width: 16, hideBelow: 100 },
];

/** A queue's flow limits in a few characters: "run 3/5 10/s key≤2"; red when at the concurrency limit. */
function limitCell(q: QueueOverview): { text: string; color?: string; dim?: boolean } {
  const l = q.limits;
  if (!l) return { text: '-', dim: true };
  const parts: string[] = [];
  if (l.concurrency !== null) parts.push(`run ${l.running}/${l.concurrency}`);
  if (l.rate !== null) parts.push(l.rate);
  if (l.perKeyConcurrency !== null) parts.push(`key≤${l.perKeyConcurrency}`);
  const full = (l.concurrency !== null && l.running >= l.concurrency) || (l.rate !== null && l.tokens === 0);
  return { text: parts.join(' '), color: full ? 'magenta' : 'blue' };
}

/** Per-queue counts; `selectedKey` is "q:<name>" when a queue is selected. */
export function QueuesPanel(p: { queues: QueueOverview[]; width: number; selectedKey: string | null }) {
  if (p.queues.length === 0)
    return <Text dimColor> no queues yet — enqueue a job (jobq enqueue demo.echo) or start a worker</Text>;
  const rows = p.queues.map((q) => ({
    key: `q:${q.queue}`,
    selected: p.selectedKey === `q:${q.queue}`,
    cells: {
      queue: q.paused && p.width < 50 ? { text: `${q.queue} ⏸`, color: 'yellow' } : q.queue,
      pending: {
        text: count(q.counts.PENDING),
        dim: q.counts.PENDING === 0,
      },
      running: {
        text: count(q.counts.RUNNING),
        color: q.counts.RUNNING > 0 ? 'cyan' : undefined,
        dim: q.counts.RUNNING === 0,
      },
      retry: {
        text: count(q.counts.RETRY),
        color: q.counts.RETRY > 0 ? 'yellow' : undefined,
        dim: q.counts.RETRY === 0,
      },
      dead: {
        text: count(q.counts.DEAD),
        color: q.counts.DEAD > 0 ? 'red' : undefined,
        dim: q.counts.DEAD === 0,
      },
      done: { text: count(q.completedInWindow), color: q.completedInWindow > 0 ? 'green' : undefined },
      trend: { text: sparkline(q.completedBuckets), color: 'green' },
      oldest: age(q.oldestReadyAgeSeconds),
      state: q.paused
        ? { text: 'paused', color: 'yellow' }
        : q.limits
          ? { text: 'limit', color: 'blue' }
          : { text: 'active', dim: true },
      limit: limitCell(q),
    },
  }));
  return <Table columns={QUEUE_COLUMNS} rows={rows} width={p.width} />;
}

const FAILURE_COLUMNS: Column[] = [
  { key: 'id', header: 'JOB', width: 8 },
  { key: 'queue', header: 'QUEUE', width: 10, hideBelow: 60 },
  { key: 'type', header: 'TYPE', width: 14, hideBelow: 90 },
  { key: 'status', header: 'STATUS', width: 6 },
  { key: 'attempts', header: 'TRIES', width: 5, align: 'right', hideBelow: 80 },
  { key: 'when', header: 'WHEN', width: 8, hideBelow: 70 },
  { key: 'error', header: 'ERROR', width: 'flex', min: 8 },
];

/** Recent RETRY and DEAD jobs with their last error; `selectedKey` is "j:<id>" when one is selected. */
export function FailuresPanel(p: {
  failures: FailureRow[];
  width: number;
  selectedKey: string | null;
  now: number;
}) {
  if (p.failures.length === 0) return <Text dimColor> no failed or dead jobs</Text>;
  const rows = p.failures.map((f) => ({
    key: `j:${f.id}`,
    selected: p.selectedKey === `j:${f.id}`,
    cells: {
      id: f.id.slice(-8),
      queue: f.queue,
      type: f.type,
      status: { text: f.status, color: f.status === 'DEAD' ? 'red' : 'yellow' },
      attempts: `${f.attempts}/${f.maxAttempts}`,
      when: ago(f.updatedAt, p.now),
      error: f.lastError ?? '-',
    },
  }));
  return <Table columns={FAILURE_COLUMNS} rows={rows} width={p.width} />;
}

const WORKER_COLUMNS: Column[] = [
  { key: 'id', header: 'WORKER', width: 'flex', min: 8, max: 32 },
  { key: 'queues', header: 'QUEUES', width: 24, hideBelow: 70 },
  { key: 'load', header: 'LOAD', width: 7, align: 'right' },
  { key: 'beat', header: 'HEARTBEAT', width: 9, hideBelow: 60 },
];

/** Workers online with their queues (name:slots) and load (running/slots). */
export function WorkersPanel(p: { workers: WorkerRow[]; width: number; now: number }) {
  if (p.workers.length === 0)
    return <Text color="yellow"> no workers online — start one with jobq worker</Text>;
  const rows = p.workers.map((w) => {
    const slots = Object.values(w.queues).reduce((s, n) => s + n, 0);
    return {
      key: w.id,
      cells: {
        id: w.id,
        queues: Object.entries(w.queues)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([q, n]) => `${q}:${n}`)
          .join(','),
        load: {
          text: `${w.running}/${slots}`,
          color: w.running >= slots && slots > 0 ? 'yellow' : undefined,
        },
        beat: ago(w.lastHeartbeatAt, p.now),
      },
    };
  });
  return <Table columns={WORKER_COLUMNS} rows={rows} width={p.width} />;
}

/** A bold section title with an optional dim note. */
export function Title({ text, note }: { text: string; note?: string }) {
  return (
    <Box marginTop={1}>
      <Text bold>{text}</Text>
      {note ? <Text dimColor> {note}</Text> : null}
    </Box>
  );
}
