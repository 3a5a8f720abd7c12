// The web dashboard: static files from public/ (shipped in the package, no build step), served at /
// without authentication — the page asks for a token itself when the API answers 401.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** public/ next to src/ and dist/ (both two levels below the package root). */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

/** A strict policy: the page loads only its own script and style and talks only to this origin. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Registers the dashboard's files (/, /app.js, /style.css, …). */
export async function registerDashboard(app: FastifyInstance, dir = PUBLIC_DIR): Promise<void> {
  if (!existsSync(dir)) {
    app.log.warn({ dir }, 'dashboard files not found; serving the API only');
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    wildcard: false,
    index: 'index.html',
    dotfiles: 'ignore',
    cacheControl: true,
    maxAge: 0,
    setHeaders: (res) => {
      res.header('content-security-policy', CSP);
      res.header('x-content-type-options', 'nosniff');
      res.header('referrer-policy', 'no-referrer');
    },
  });
}
