// What jsonb can store is stored exactly: payloads with surrogate pairs (emoji) and with text that merely
// looks like an escape ("\u0000" written out, a backslash and all) are accepted and read back unchanged.
// The refusals (NUL, unpaired surrogates, named by their spot) are in test/api/edges.test.ts; this pins
// the other side of the quick pre-check that decides whether a payload needs the full walk.
import { describe, expect, it } from 'vitest';
import { enqueue, getJob } from '../../src/queue/index.js';
import { ValidationError } from '../../src/errors.js';
import { freshDb } from '../helpers/db.js';

const db = await freshDb();

describe('storable payload text', () => {
  it('stores emoji and escape-like text exactly', async () => {
    const payload = {
      emoji: 'ok 😀 \u{1F680}',
      ['key 😀']: ['\u{1F600}'],
      written: '\\u0000 and \\ud800 are just text here',
      ['\\udbff']: 'a key that looks like an escape',
    };
    const { job } = await enqueue(db.exec, { type: 't', payload });
    expect((await getJob(db.exec, job.id)).payload).toEqual(payload);
  });

  it('refuses NUL and unpaired surrogates beside such text, naming the spot', async () => {
    const refused = async (payload: unknown): Promise<string> => {
      try {
        await enqueue(db.exec, { type: 't', payload });
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(await refused({ ok: '😀', deep: [{ s: 'a\u0000' }] })).toMatch(/^payload\.deep\[0\]\.s: .*NUL/);
    expect(await refused({ written: '\\u0000', s: 'x\udc00' })).toMatch(/^payload\.s: .*unpaired surrogate/);
  });
});
