// Built-in demo handlers every worker knows (a handlers module is merged over them):
// demo.sleep {seconds} (honours the AbortSignal), demo.fail {message} (always fails), demo.echo.
import type { HandlerMap, HandlerContext } from './types.js';

/** Resolves after `ms`, or rejects with the signal's reason as soon as it fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function field(payload: unknown, name: string): unknown {
  return typeof payload === 'object' && payload !== null
    ? (payload as Record<string, unknown>)[name]
    : undefined;
}

/** The built-in handlers. */
export const BUILTIN_HANDLERS: HandlerMap = {
  'demo.sleep': async (payload: unknown, ctx: HandlerContext) => {
    const seconds = field(payload, 'seconds') ?? 1;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0 || seconds > 86_400)
      throw new Error(
        `demo.sleep: payload.seconds: expected a number of seconds from 0 to 86400, got ${JSON.stringify(seconds)}`,
      );
    await sleep(seconds * 1000, ctx.signal);
    return { slept: seconds };
  },
  'demo.fail': (payload: unknown) => {
    const message = field(payload, 'message');
    throw new Error(typeof message === 'string' && message ? message : 'demo.fail: this job always fails');
  },
  'demo.echo': (payload: unknown) => payload,
};
