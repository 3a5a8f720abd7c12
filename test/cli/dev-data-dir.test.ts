// Where `jobq dev` keeps its embedded PostgreSQL's data, and that --help and the README say so: under
// ~/.jobq/dev, or /var/tmp/jobq-dev when the "postgres" user cannot enter the home directory (root's
// 0700 home). Both cases run here: a private home (mode 0700) and an open one (0755).
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultDataDir } from '../../src/cli/dev.js';
import { runCli } from '../helpers/cli.js';

const home = mkdtempSync(path.join(tmpdir(), 'jobq-home-'));
const savedHome = process.env.HOME;
afterAll(() => {
  process.env.HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

describe('jobq dev data directory', () => {
  it('is ~/.jobq/dev, or /var/tmp/jobq-dev as root when the postgres user cannot enter ~', () => {
    process.env.HOME = home; // os.homedir() reads HOME
    const asRoot = process.getuid?.() === 0;
    chmodSync(home, 0o700);
    expect(defaultDataDir()).toBe(asRoot ? '/var/tmp/jobq-dev' : path.join(home, '.jobq', 'dev'));
    chmodSync(home, 0o755);
    expect(defaultDataDir()).toBe(path.join(home, '.jobq', 'dev'));
  });

  it('--help and the README name both places', async () => {
    const help = await runCli(['dev', '--help']);
    expect(help.code).toBe(0);
    const flat = help.stdout.replace(/\s+/g, ' ');
    expect(flat).toContain('default ~/.jobq/dev, or /var/tmp/jobq-dev when run as root');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## What jobq guarantees'));
    expect(quick.replace(/\s+/g, ' ')).toMatch(
      /under `~\/\.jobq\/dev`, or `\/var\/tmp\/jobq-dev` when run as root/,
    );
  });
});
