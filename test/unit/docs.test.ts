// The README stays true to the code: every environment variable jobq reads is in its configuration
// table, and the quick start and guarantees it must state are there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../src/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every environment variable jobq reads', () => {
    const missing = ENV_VARS.filter((v) => !readme.includes(`| \`${v.name}\` |`)).map((v) => v.name);
    expect(missing).toEqual([]);
  });

  it('gives the two quick-start commands and the test command', () => {
    expect(readme).toContain('npm install');
    expect(readme).toContain('npx jobq dev');
    expect(readme).toContain('npm test');
  });

  it('states the delivery guarantees without claiming more', () => {
    expect(readme).toMatch(/at-least-once/i);
    expect(readme).toMatch(/exactly once/i);
    expect(readme).toContain('FOR UPDATE SKIP LOCKED');
    expect(readme).not.toMatch(/exactly-once (delivery|execution)/i);
  });
});
