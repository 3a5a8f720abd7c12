// Log lines for people: the pretty format (time, level, message, key=value) and when it applies.
import { isatty } from 'node:tty';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { prettyLine, usePretty } from '../../src/log.js';
import { ValidationError } from '../../src/errors.js';

describe('log format', () => {
  it('pretty lines: time, level, message, then the fields; no pid or name', () => {
    const json = JSON.stringify({
      level: 40,
      time: '2026-11-29T14:00:01.123Z',
      pid: 42,
      name: 'jobq-dev',
      msg: 'waiting for the database',
      attempt: 2,
      reason: 'connect ECONNREFUSED 127.0.0.1:5432',
    });
    expect(prettyLine(json, false)).toBe(
      '14:00:01 WARN  waiting for the database attempt=2 reason="connect ECONNREFUSED 127.0.0.1:5432"\n',
    );
    expect(prettyLine(json, true)).toContain('\x1b[33mWARN');
    expect(prettyLine('not json', false)).toBe('not json');
  });

  it('auto is pretty only on a terminal; pretty and json force it; anything else is refused', () => {
    expect(usePretty('pretty', 1)).toBe(true);
    expect(usePretty('json', 1)).toBe(false);
    // the test runner's stdout is not a terminal
    expect(usePretty('auto', 1)).toBe(isatty(1));
    expect(loadConfig({}, {}).logFormat).toBe('auto');
    expect(loadConfig({}, { JOBQ_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({}, { JOBQ_LOG_FORMAT: 'fancy' })).toThrow(ValidationError);
  });
});
