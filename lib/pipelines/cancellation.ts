/** The error a sampling run ends with when its AbortSignal fires or onStep returns false. */
export class SamplingCancelledError extends Error {
  override readonly name = 'AbortError';

  constructor(
    readonly stepsDone: number,
    readonly total: number,
    reason: string,
  ) {
    super(`sampling cancelled after ${stepsDone}/${total} steps (${reason})`);
  }
}

/** Lets the host event loop run (Node-RED messages, timers, close handlers) between heavy steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
