// Where a running `jobq dev` records its embedded database URL, so operator commands in another
// terminal find it without DATABASE_URL (only while that jobq dev process is alive).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

interface DevState {
  url: string;
  pid: number;
  schema: string;
}

function stateFile(): string {
  return path.join(homedir(), '.jobq', 'dev.json');
}

/** Records the running dev database. */
export function writeDevState(state: DevState): void {
  mkdirSync(path.dirname(stateFile()), { recursive: true });
  writeFileSync(stateFile(), JSON.stringify(state));
}

/** Removes the record (on shutdown) if it is ours. */
export function clearDevState(): void {
  if (readDevState()?.pid === process.pid) rmSync(stateFile(), { force: true });
}

/** The URL of a live `jobq dev` embedded database, if one is running. */
export function readDevState(): DevState | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile(), 'utf8')) as DevState;
    process.kill(s.pid, 0);
    return s;
  } catch {
    return undefined;
  }
}
