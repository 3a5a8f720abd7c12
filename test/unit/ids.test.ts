// UUIDv7 ids: valid, unique, version 7 / RFC variant, and ordered within a process.
import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from '../../src/queue/ids.js';

describe('uuidv7', () => {
  it('makes valid, unique, increasing version-7 ids', () => {
    const ids = Array.from({ length: 50_000 }, () => uuidv7());
    expect(ids.every(isUuid)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id, i) => i === 0 || (ids[i - 1] ?? '') < id)).toBe(true);
    expect(ids.every((id) => id[14] === '7' && '89ab'.includes(id[19] ?? ''))).toBe(true);
  });

  it('encodes the current time in the first 48 bits', () => {
    const before = Date.now();
    const id = uuidv7();
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });
});
