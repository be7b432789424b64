/**
 * The slice of the Node-RED runtime API our nodes use (Node-RED ships no TypeScript types, and
 * @types/node-red would pin another version). Kept minimal on purpose.
 */
export type Msg = Record<string, unknown> & { _msgid?: string };
export type SendFn = (msg: Msg | Array<Msg | Msg[] | null> | null) => void;
export type DoneFn = (err?: Error | string) => void;

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface Node {
  id: string;
  type: string;
  name?: string;
  on(event: 'input', cb: (msg: Msg, send: SendFn, done: DoneFn) => void | Promise<void>): void;
  on(event: 'close', cb: (removed: boolean, done: () => void) => void): void;
  send(msg: Msg | Array<Msg | Msg[] | null> | null): void;
  status(s: NodeStatus | Record<string, never>): void;
  error(err: unknown, msg?: Msg): void;
  warn(w: unknown): void;
  log(m: unknown): void;
  debug?(m: unknown): void;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(type: string, ctor: unknown, opts?: object): void;
    getNode(id: string): unknown;
  };
  settings: { userDir?: string; [key: string]: unknown };
  httpAdmin?: { get(path: string, ...handlers: unknown[]): void };
  auth?: { needsPermission(p: string): unknown };
  util: { cloneMessage<T>(m: T): T };
  _(key: string, subs?: Record<string, unknown>): string;
}
