// `jobq top`: the live terminal dashboard. Rendering only; data comes from a TopSource through
// useSnapshot. Keys: q quits, ↑/↓ or k/j move, p pauses/resumes the selected queue, r retries the
// selected failed/dead job. A failed load shows inline above the last good data and clears on recovery.
import { Box, Text, useApp, useInput, useStdin, useWindowSize, type Key } from 'ink';
import { useCallback, useRef, useState } from 'react';
import { formatDuration } from '../parse.js';
import { FailuresPanel, QueuesPanel, Title, WorkersPanel } from './components/Sections.js';
import type { TopSource } from './source.js';
import { useSnapshot } from './use-snapshot.js';

export interface AppProps {
  source: TopSource;
  /** Refresh interval in ms. */
  intervalMs: number;
  /** Where it reads from, shown in the header (e.g. the schema). */
  label?: string;
  /** Terminal width override (tests); defaults to the terminal's width. */
  columns?: number;
}

/** The dashboard. */
export function App({ source, intervalMs, label, columns }: AppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  // useWindowSize re-renders on resize; it reports 0 columns where stdout is no terminal.
  const windowColumns = useWindowSize().columns;
  const width = Math.max(20, columns ?? (windowColumns || 80));
  const load = useCallback(() => source.load(), [source]);
  const snap = useSnapshot(load, intervalMs);
  // The selection lives in a ref (read by the key handler, which may run before the next render
  // re-binds it) and a state copy that triggers the re-render.
  const selected = useRef<string | null>(null);
  const [, setSelectedKey] = useState<string | null>(null);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);

  const data = snap.data;
  const keys = data
    ? [...data.queues.map((q) => `q:${q.queue}`), ...data.failures.map((f) => `j:${f.id}`)]
    : [];
  const current =
    selected.current !== null && keys.includes(selected.current) ? selected.current : (keys[0] ?? null);
  const view = useRef({ keys, current, data });
  view.current = { keys, current, data };

  const act = (what: Promise<void>, done: string): void => {
    what.then(
      () => {
        setMessage({ text: done, error: false });
        snap.refresh();
      },
      (err: unknown) => setMessage({ text: err instanceof Error ? err.message : String(err), error: true }),
    );
  };

  const onKey = (input: string, key: Key): void => {
    const v = view.current;
    const sel = selected.current !== null && v.keys.includes(selected.current) ? selected.current : v.current;
    if (input === 'q') {
      exit();
      return;
    }
    if (key.upArrow || key.downArrow || input === 'j' || input === 'k') {
      if (v.keys.length === 0) return;
      const i = sel === null ? 0 : Math.max(0, v.keys.indexOf(sel));
      const up = key.upArrow || input === 'k';
      selected.current = v.keys[up ? Math.max(0, i - 1) : Math.min(v.keys.length - 1, i + 1)] ?? null;
      setSelectedKey(selected.current);
      return;
    }
    if (input === 'p') {
      const q = sel?.startsWith('q:') ? v.data?.queues.find((x) => `q:${x.queue}` === sel) : undefined;
      if (!q) return setMessage({ text: 'select a queue (↑/↓) to pause or resume it', error: true });
      if (q.paused) act(source.resume(q.queue), `resumed queue ${q.queue}`);
      else act(source.pause(q.queue), `paused queue ${q.queue}`);
      return;
    }
    if (input === 'r') {
      const f = sel?.startsWith('j:') ? v.data?.failures.find((x) => `j:${x.id}` === sel) : undefined;
      if (!f) return setMessage({ text: 'select a failed or dead job (↑/↓) to retry it', error: true });
      act(source.retry(f.id), `retried job ${f.id} (now PENDING)`);
    }
  };
  useInput(
    (input, key) => {
      // Keys typed quickly (or a held key under load) can arrive as one chunk: "jjj" is three moves.
      if (input.length > 1 && !key.ctrl && !key.meta) for (const ch of input) onKey(ch, key);
      else onKey(input, key);
    },
    { isActive: isRawModeSupported },
  );

  const now = Date.now();
  const narrow = width < 60;
  return (
    <Box flexDirection="column" width={width}>
      <Box>
        <Text bold color="cyan">
          jobq top
        </Text>
        {label && !narrow ? <Text dimColor> · {label}</Text> : null}
        <Text dimColor>
          {' '}
          · every {formatDuration(intervalMs)}
          {snap.loadedAt ? ` · ${snap.loadedAt.toLocaleTimeString('en-GB')}` : ''}
        </Text>
      </Box>
      <Text dimColor>
        {narrow
          ? 'q quit  j/k move  p pause  r retry'
          : 'q quit · ↑↓/j k move · p pause/resume queue · r retry job'}
      </Text>
      {snap.error !== null ? (
        <Text color="red" wrap="wrap">
          ✖ database unreachable: {snap.error} — retrying every {formatDuration(intervalMs)}
          {snap.loadedAt ? `; showing data from ${formatDuration(now - snap.loadedAt.getTime())} ago` : ''}
        </Text>
      ) : null}
      {data === null ? (
        <Text dimColor>{snap.error === null ? 'loading…' : 'no data yet'}</Text>
      ) : (
        <>
          <Title
            text="QUEUES"
            note={
              narrow
                ? undefined
                : `throughput: completed per ${formatDuration(data.bucketMs)}, last ${formatDuration(data.windowMs)}`
            }
          />
          <QueuesPanel queues={data.queues} width={width} selectedKey={current} />
          <Title text="RECENT FAILURES" note={narrow ? undefined : 'RETRY and DEAD jobs, newest first'} />
          <FailuresPanel failures={data.failures} width={width} selectedKey={current} now={now} />
          <Title text={`WORKERS (${data.workersOnline} online)`} />
          <WorkersPanel workers={data.workers} width={width} now={now} />
        </>
      )}
      {message ? (
        <Box marginTop={1}>
          <Text color={message.error ? 'red' : 'green'} wrap="truncate-end">
            {message.text}
          </Text>
        </Box>
      ) : null}
    </Box>
  );
}
