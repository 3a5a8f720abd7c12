// Job ids: UUID version 7 (time-ordered), generated here so bulk inserts need no per-row SQL function.
import { randomFillSync } from 'node:crypto';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let lastMs = 0;
let seq = 0;

// Random bytes are drawn 64 KiB at a time: one randomBytes(16) call per id cost ~2 µs, a fifth of the
// whole per-job cost of a bulk enqueue.
const POOL = Buffer.alloc(65_536);
let poolOffset = POOL.length;

function random10(): Buffer {
  if (poolOffset + 10 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  poolOffset += 10;
  return POOL.subarray(poolOffset - 10, poolOffset);
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A new UUIDv7; monotonic within this process (a 12-bit counter orders ids made in the same millisecond). */
export function uuidv7(): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    seq = 0;
  }
  const r = random10();
  const hex = (b: number): string => HEX[b & 0xff] ?? '00';
  const t = ms.toString(16).padStart(12, '0');
  const v = hex(0x70 | (seq >> 8)) + hex(seq);
  const tail = hex(((r[0] ?? 0) & 0x3f) | 0x80) + hex(r[1] ?? 0);
  let node = '';
  for (let i = 2; i < 8; i++) node += hex(r[i] ?? 0);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-${v}-${tail}-${node}`;
}

/** True for a syntactically valid UUID. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
