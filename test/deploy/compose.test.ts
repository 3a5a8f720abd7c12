// The Compose files, checked by docker-compose 1.29 itself (`config -q`, no engine needed): the base
// file alone and with the observability overlay; then the resolved services, images, healthchecks,
// start order and the QUEUE/CONCURRENCY pass-through from the shell. Without docker-compose these skip
// outside CI and fail in CI.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../src/config.js';
import {
  HAS_DOCKER_COMPOSE,
  IN_CI,
  ROOT,
  composeConfig,
  composeDurationSeconds,
  dockerCompose,
  type ComposeConfig,
  type ComposeRun,
  type ComposeService,
} from './files.js';

const BASE = 'docker-compose.yml';
const OVERLAY = 'docker-compose.observability.yml';
const JOBQ_SERVICES = ['migrate', 'api', 'worker', 'scheduler'];

const healthTest = (s: ComposeService | undefined): string => [s?.healthcheck?.test ?? []].flat().join(' ');

const BAD_FILE =
  'services:\n  postgres:\n    image: postgres:16\n  worker:\n    image: jobq:local\n' +
  '    depends_on:\n      postgres:\n        condition: service_healthy\n        required: true\n';

describe.skipIf(!HAS_DOCKER_COMPOSE && !IN_CI)('docker-compose', () => {
  // docker-compose is a Python program (~0.3 s a start): run every invocation at once, up front.
  let base: ComposeRun;
  let overlay: ComposeRun | undefined;
  let merged: ComposeConfig | undefined;
  let bad: ComposeRun;
  let cfg: ComposeConfig = { services: {} };
  let email: ComposeConfig;
  let multi: ComposeConfig;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jobq-compose-'));
    try {
      writeFileSync(path.join(dir, 'bad.yml'), BAD_FILE);
      const hasOverlay = existsSync(path.join(ROOT, OVERLAY));
      [base, overlay, merged, bad, cfg, email, multi] = await Promise.all([
        dockerCompose(['-f', BASE, 'config', '-q']),
        hasOverlay ? dockerCompose(['-f', BASE, '-f', OVERLAY, 'config', '-q']) : undefined,
        hasOverlay ? composeConfig([BASE, OVERLAY]).catch(() => undefined) : undefined,
        dockerCompose(['-f', path.join(dir, 'bad.yml'), 'config', '-q']),
        composeConfig([BASE]),
        composeConfig([BASE], { QUEUE: 'email', CONCURRENCY: '3' }),
        composeConfig([BASE], { QUEUE: 'email:10,default:4' }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('docker-compose.yml validates with docker-compose config -q', () => {
    expect(base.stderr).toBe('');
    expect(base.status).toBe(0);
  });

  it('with the observability overlay it validates too', () => {
    expect(overlay, `${OVERLAY} is missing`).toBeDefined();
    expect(overlay?.stderr).toBe('');
    expect(overlay?.status).toBe(0);
    for (const s of ['postgres', ...JOBQ_SERVICES]) expect(merged?.services[s], s).toBeDefined();
  });

  it('fields newer than docker-compose 1.29 are refused (the validator is live)', () => {
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("unsupported option: 'required'");
  });

  const svc = (name: string): ComposeService => {
    const s = cfg.services[name];
    if (!s) throw new Error(`service ${name} missing`);
    return s;
  };

  it('services are exactly postgres, migrate, api, worker, scheduler', () => {
    expect(Object.keys(cfg.services).sort()).toEqual(['api', 'migrate', 'postgres', 'scheduler', 'worker']);
  });

  it('postgres:16 with a named volume and a pg_isready healthcheck', () => {
    const pg = svc('postgres');
    expect(pg.image).toBe('postgres:16');
    expect(cfg.volumes).toHaveProperty('pgdata');
    expect(JSON.stringify(pg.volumes)).toContain('pgdata:/var/lib/postgresql/data');
    expect(healthTest(pg)).toContain('pg_isready');
  });

  it('the jobq services build one image and run migrate, api, worker, scheduler', () => {
    for (const name of JOBQ_SERVICES) {
      expect(svc(name).build, name).toBeDefined();
      expect(svc(name).image, name).toBe('jobq:local');
      expect(svc(name).environment?.DATABASE_URL, name).toBe('postgres://jobq:jobq@postgres:5432/jobq');
    }
    expect(svc('migrate').command).toEqual(['migrate']);
    expect(svc('api').command).toEqual(['api', '--insecure-no-auth']);
    expect(svc('worker').command).toEqual(['worker']);
    expect(svc('scheduler').command).toEqual(['scheduler']);
  });

  it('api is published on port 8000 and has a /healthz healthcheck; daemons have healthchecks', () => {
    expect(JSON.stringify(svc('api').ports)).toMatch(/8000:8000/);
    expect(healthTest(svc('api'))).toContain('/healthz');
    expect(healthTest(svc('worker'))).toContain(':9464/metrics');
    expect(healthTest(svc('scheduler'))).toContain(':9464/metrics');
  });

  it('daemons wait for a healthy database and a successful migration; migrate runs once', () => {
    expect(svc('migrate').depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(svc('migrate').restart).toBe('no');
    for (const name of ['api', 'worker', 'scheduler'])
      expect(svc(name).depends_on, name).toEqual({
        postgres: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
  });

  it('the worker stops within a grace longer than JOBQ_SHUTDOWN_GRACE_SECONDS', () => {
    const w = svc('worker');
    const grace = Number(
      w.environment?.JOBQ_SHUTDOWN_GRACE_SECONDS ??
        ENV_VARS.find((v) => v.name === 'JOBQ_SHUTDOWN_GRACE_SECONDS')?.default,
    );
    expect(composeDurationSeconds(w.stop_grace_period ?? '10s')).toBeGreaterThanOrEqual(grace + 10);
  });

  it('QUEUE and CONCURRENCY pass through from the shell (QUEUE=email docker compose up -d worker)', () => {
    expect(svc('worker').environment).toMatchObject({ QUEUE: 'default', CONCURRENCY: '10' });
    expect(email.services.worker?.environment).toMatchObject({ QUEUE: 'email', CONCURRENCY: '3' });
    expect(multi.services.worker?.environment?.QUEUE).toBe('email:10,default:4');
  });
});
