/**
 * Parameters by their reference names (diffusers / transformers / segment-anything state_dict keys).
 *
 * A block `take`s each parameter it needs at construction with the PyTorch shape it expects; the store
 * checks the shape, converts the layout to tfjs' once, and remembers the name as used. At forward time a
 * block reads `tensor(name)`, so a trainer can swap chosen parameters for tf.Variables (`makeTrainable`)
 * without the blocks knowing. Tensors are read from safetensors lazily, one at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, toTf, hostTensor, fromTfSync } from '../io/host-tensor';
import { SafetensorsReader } from '../io/safetensors';

/**
 * How a PyTorch parameter maps to tfjs:
 * - raw: as stored
 * - linear: (out, in) → [in, out]
 * - conv2d: (out, in, kh, kw) → [kh, kw, in, out]
 * - convTranspose2d: (in, out, kh, kw) → [kh, kw, out, in] (tf.conv2dTranspose's filter)
 */
export type ParamLayout = 'raw' | 'linear' | 'conv2d' | 'convTranspose2d';

const PERM: Record<Exclude<ParamLayout, 'raw'>, number[]> = {
  linear: [1, 0],
  conv2d: [2, 3, 1, 0],
  convTranspose2d: [2, 3, 1, 0],
};
const INVERSE: Record<Exclude<ParamLayout, 'raw'>, number[]> = {
  linear: [1, 0],
  conv2d: [3, 2, 0, 1],
  convTranspose2d: [3, 2, 0, 1],
};

interface Source {
  has(name: string): boolean;
  shape(name: string): number[];
  read(name: string): HostTensor;
  keys(): string[];
  describe(): string;
}

export interface LoadOptions {
  /** maps a stored name to the name blocks ask for (e.g. legacy VAE attention names) */
  rename?: (storedName: string) => string;
}

export class ParamError extends Error {}

/** Makes a parameter's initial value (PyTorch layout) from its name and shape, for models built from scratch. */
export type Initializer = (name: string, torchShape: readonly number[]) => HostTensor;

export class ParamStore {
  private readonly values = new Map<string, tf.Tensor>();
  private readonly layouts = new Map<string, ParamLayout>();
  private readonly taken = new Set<string>();
  private readonly trainable = new Set<string>();
  private readonly storedName = new Map<string, string>(); // block name → source key

  private constructor(private readonly sources: Source[], rename?: (n: string) => string) {
    for (const [i, s] of sources.entries()) {
      for (const k of s.keys()) {
        const name = rename ? rename(k) : k;
        if (this.storedName.has(name)) throw new ParamError(`parameter "${name}" appears twice (${s.describe()})`);
        this.storedName.set(name, `${i}\u0000${k}`);
      }
    }
  }

  static fromSafetensors(paths: string | string[], opts: LoadOptions = {}): ParamStore {
    const readers = (Array.isArray(paths) ? paths : [paths]).map((p) => SafetensorsReader.open(p));
    const sources: Source[] = readers.map((r) => ({
      has: (n) => r.has(n),
      shape: (n) => r.info(n).shape,
      read: (n) => r.read(n),
      keys: () => r.keys(),
      describe: () => r.path,
    }));
    const store = new ParamStore(sources, opts.rename);
    store.closers = readers.map((r) => () => r.close());
    return store;
  }

  /**
   * A store that creates every parameter a block takes with `init` (nothing is read): building a model
   * from its config against this store yields a complete, correctly named set of weights.
   */
  static initializing(init: Initializer): ParamStore {
    const store = new ParamStore([]);
    store.initializer = init;
    return store;
  }

  private initializer?: Initializer;

  static fromHost(map: Map<string, HostTensor> | Record<string, HostTensor>, opts: LoadOptions = {}): ParamStore {
    const m = map instanceof Map ? map : new Map(Object.entries(map));
    return new ParamStore(
      [{ has: (n) => m.has(n), shape: (n) => m.get(n)!.shape, read: (n) => m.get(n)!, keys: () => [...m.keys()], describe: () => 'in-memory weights' }],
      opts.rename,
    );
  }

  private closers: Array<() => void> = [];

  private locate(name: string): { source: Source; key: string } | undefined {
    const loc = this.storedName.get(name);
    if (loc === undefined) return undefined;
    const sep = loc.indexOf('\u0000');
    return { source: this.sources[Number(loc.slice(0, sep))], key: loc.slice(sep + 1) };
  }

  has(name: string): boolean {
    return this.storedName.has(name) || this.values.has(name);
  }

  /** PyTorch shape as stored, without loading. */
  storedShape(name: string): number[] | undefined {
    const loc = this.locate(name);
    return loc ? loc.source.shape(loc.key) : this.values.has(name) ? undefined : undefined;
  }

  /**
   * Claims a parameter: checks presence and its PyTorch shape, converts the layout once. Taking the same
   * name twice with the same shape is allowed (shared weights).
   */
  take(name: string, torchShape: readonly number[], layout: ParamLayout = 'raw'): void {
    if (this.values.has(name)) {
      if (this.layouts.get(name) !== layout) throw new ParamError(`parameter "${name}" taken with layouts ${this.layouts.get(name)} and ${layout}`);
      return;
    }
    const loc = this.locate(name);
    if (!loc && this.initializer) {
      const init = this.initializer(name, torchShape);
      if (init.shape.length !== torchShape.length || init.shape.some((d, i) => d !== torchShape[i])) {
        throw new ParamError(`initializer for "${name}" made shape [${init.shape}], expected [${torchShape}]`);
      }
      this.add(name, init, layout);
      return;
    }
    if (!loc) throw new ParamError(`missing parameter "${name}" (expected shape [${torchShape}])`);
    const found = loc.source.shape(loc.key);
    if (found.length !== torchShape.length || found.some((d, i) => d !== torchShape[i])) {
      throw new ParamError(`parameter "${name}": expected shape [${torchShape}], found [${found}] in ${loc.source.describe()}`);
    }
    const host = loc.source.read(loc.key);
    const value = tf.tidy(() => {
      const t = host.dtype === 'float32' ? toTf(host) : toTf(host);
      return layout === 'raw' ? t : tf.transpose(t, PERM[layout]);
    });
    this.values.set(name, tf.keep(value));
    this.layouts.set(name, layout);
    this.taken.add(name);
  }

  /** Current value in the tfjs layout. */
  tensor(name: string): tf.Tensor {
    const t = this.values.get(name);
    if (!t) throw new ParamError(`parameter "${name}" was never taken`);
    return t;
  }

  /** Registers a parameter created in code (e.g. a new embedding row), PyTorch layout given. */
  add(name: string, value: HostTensor, layout: ParamLayout = 'raw'): void {
    if (this.values.has(name)) throw new ParamError(`parameter "${name}" already exists`);
    const t = tf.tidy(() => (layout === 'raw' ? toTf(value) : tf.transpose(toTf(value), PERM[layout])));
    this.values.set(name, tf.keep(t));
    this.layouts.set(name, layout);
    this.taken.add(name);
  }

  /** Replaces a parameter's value (tfjs layout, same shape); the store takes ownership of `value`. */
  set(name: string, value: tf.Tensor): void {
    const old = this.tensor(name);
    if (!tf.util.arraysEqual(old.shape, value.shape)) {
      throw new ParamError(`parameter "${name}": new value shape [${value.shape}] differs from [${old.shape}]`);
    }
    if (old !== value) old.dispose();
    this.values.set(name, value);
  }

  /** Turns every taken parameter matching `filter` into a trainable tf.Variable; returns them by name. */
  makeTrainable(filter: (name: string) => boolean): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, t] of this.values) {
      if (!filter(name)) continue;
      let v = t as tf.Variable;
      if (!(t instanceof tf.Variable)) {
        v = tf.variable(t, true, `${name}#${Math.random().toString(36).slice(2, 8)}`);
        t.dispose();
        this.values.set(name, v);
      }
      this.trainable.add(name);
      out.set(name, v);
    }
    return out;
  }

  trainableNames(): string[] {
    return [...this.trainable];
  }

  names(): string[] {
    return [...this.values.keys()];
  }

  /** Names in the source that no block took: unexpected weights. */
  unusedKeys(): string[] {
    return [...this.storedName.keys()].filter((n) => !this.taken.has(n));
  }

  layoutOf(name: string): ParamLayout {
    const l = this.layouts.get(name);
    if (!l) throw new ParamError(`parameter "${name}" was never taken`);
    return l;
  }

  /** The current value back in PyTorch layout, as host data. */
  toHost(name: string): HostTensor {
    const layout = this.layoutOf(name);
    const t = tf.tidy(() => (layout === 'raw' ? this.tensor(name).clone() : tf.transpose(this.tensor(name), INVERSE[layout])));
    try {
      const h = fromTfSync(t);
      return hostTensor(h.dtype, h.shape, h.data);
    } finally {
      t.dispose();
    }
  }

  dispose(): void {
    for (const t of this.values.values()) t.dispose();
    this.values.clear();
    for (const c of this.closers) c();
    this.closers = [];
  }
}
