/**
 * What every DETEX node does the same way: one msg at a time (tfjs is synchronous on the one JS
 * thread), a bounded input queue, errors through done(err) so Catch nodes get them with the msg,
 * status with a number, and a close that aborts work and drops the queue within the close timeout.
 */
import { Msg, Node, NodeAPI, SendFn, DoneFn } from './red';
import { translator } from './i18n';
import { PathError } from './safe-path';
import { ItemError } from './images';

export type T = (key: string, subs?: Record<string, unknown>) => string;

/** An error whose text is an i18n key with substitutions. */
export class NodeError extends Error {
  constructor(readonly key: string, readonly subs: Record<string, unknown> = {}) {
    super(key);
  }
}

export interface WorkContext {
  t: T;
  signal: AbortSignal;
  send: SendFn;
  /** show progress as "text n/total" */
  progress(text: string, n?: number, total?: number): void;
}

export interface RunOptions {
  maxQueue?: number;
  /** status text while idle */
  idleText?: () => string | undefined;
  /** extra work for msg.cancel (e.g. tell a child process) */
  onCancel?: () => void;
  /** runs on close after the queue was dropped and the current work aborted */
  onClose?: () => Promise<void> | void;
}

export function errorText(t: T, e: unknown): string {
  if (e instanceof NodeError || e instanceof PathError || e instanceof ItemError) return t(e.key, e.subs);
  if (e instanceof Error) return e.message;
  return String(e);
}

export function setupNode(
  RED: NodeAPI,
  node: Node,
  type: string,
  work: (msg: Msg, ctx: WorkContext) => Promise<void>,
  opts: RunOptions = {},
): T {
  const t = translator(RED, type);
  const maxQueue = opts.maxQueue ?? 8;
  const queue: Array<{ msg: Msg; send: SendFn; done: DoneFn }> = [];
  let current: { abort: AbortController; finished: Promise<void> } | undefined;
  let closing = false;

  const idle = () => {
    const txt = opts.idleText?.();
    node.status(txt ? { fill: 'grey', shape: 'ring', text: txt } : {});
  };

  const pump = () => {
    if (current || closing) return;
    const next = queue.shift();
    if (!next) return;
    const abort = new AbortController();
    const ctx: WorkContext = {
      t,
      signal: abort.signal,
      send: next.send,
      progress(text, n, total) {
        const suffix = n === undefined ? '' : total === undefined ? ` ${n}` : ` ${n}/${total}`;
        const q = queue.length ? ` (+${queue.length})` : '';
        node.status({ fill: 'blue', shape: 'dot', text: `${text}${suffix}${q}` });
      },
    };
    ctx.progress(t('common.status.working'));
    const finished = (async () => {
      try {
        await work(next.msg, ctx);
        if (!closing) idle();
        next.done();
      } catch (e) {
        const text = abort.signal.aborted && closing ? t('common.errors.closed') : errorText(t, e);
        if (!closing) node.status({ fill: 'red', shape: 'dot', text: text.length > 40 ? text.slice(0, 37) + '...' : text });
        next.done(new Error(text));
      }
    })();
    current = { abort, finished };
    finished.then(() => {
      current = undefined;
      pump();
    });
  };

  node.on('input', (msg: Msg, send: SendFn, done: DoneFn) => {
    // msg.cancel = true stops the current work and drops what waits; it is no job itself.
    if (msg.cancel === true) {
      for (const q of queue.splice(0)) q.done(new Error(t('common.errors.cancelled')));
      current?.abort.abort();
      opts.onCancel?.();
      return done();
    }
    if (closing) return done(new Error(t('common.errors.closed')));
    if (current && queue.length >= maxQueue) return done(new Error(t('common.errors.queueFull', { max: maxQueue })));
    queue.push({ msg, send, done });
    if (current) node.status({ fill: 'blue', shape: 'dot', text: t('common.status.queued', { n: queue.length }) });
    pump();
  });

  node.on('close', (_removed: boolean, done: () => void) => {
    closing = true;
    queue.length = 0; // dropped msgs: the flow is going away, nobody would see their errors
    const cur = current;
    cur?.abort.abort();
    const limit = new Promise<void>((r) => setTimeout(r, 10_000).unref());
    Promise.race([Promise.all([cur?.finished, opts.onClose?.()]), limit])
      .catch(() => undefined)
      .then(() => {
        node.status({});
        done();
      });
  });

  idle();
  return t;
}

/** Reads a number from msg or config, checked against a range. */
export function numberIn(name: string, v: unknown, fallback: number, min: number, max: number, integer = true): number {
  const x = v === undefined || v === null || v === '' ? fallback : typeof v === 'string' ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max || (integer && !Number.isInteger(x))) {
    throw new NodeError('common.errors.badNumber', { name, min, max, got: JSON.stringify(v) });
  }
  return x;
}

/** Throws NodeError('common.errors.cancelled') if the signal fired. */
export function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new NodeError('common.errors.cancelled');
}
