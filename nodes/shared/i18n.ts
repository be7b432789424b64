/**
 * Messages come from each node's catalog (`<type>/locales/en-US/<type>.json`, namespace = the node
 * set) through `RED._`. scripts/copy-assets.js merges `shared/locales/en-US/common.json` into every
 * catalog under "common", so shared errors resolve in any node. Where the runtime has no catalog
 * (node-red-node-test-helper returns the key), we read the same JSON files directly.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NodeAPI } from './red';

const cache = new Map<string, Record<string, unknown>>();

function catalog(type: string): Record<string, unknown> {
  let c = cache.get(type);
  if (!c) {
    c = {};
    for (const file of [
      path.join(__dirname, 'locales', 'en-US', 'common.json'),
      path.join(__dirname, '..', type, 'locales', 'en-US', `${type}.json`),
    ]) {
      try {
        const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
        if (file.endsWith('common.json')) c.common = j;
        else Object.assign(c, j);
      } catch {
        /* a missing catalog just means keys are shown as they are */
      }
    }
    cache.set(type, c);
  }
  return c;
}

function lookup(obj: Record<string, unknown>, key: string): string | undefined {
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return typeof cur === 'string' ? cur : undefined;
}

function fill(s: string, subs?: Record<string, unknown>): string {
  if (!subs) return s;
  return s.replace(/__([A-Za-z0-9_]+)__/g, (m, k: string) => (k in subs ? String(subs[k]) : m));
}

/** A translator for one node type: `t('errors.noImage', {n: 2})`. */
export function translator(RED: NodeAPI, type: string): (key: string, subs?: Record<string, unknown>) => string {
  return (key, subs) => {
    const full = key.startsWith('common.') || key.startsWith(`${type}.`) ? key : `${type}.${key}`;
    let s: string | undefined;
    try {
      s = RED._(full, subs);
    } catch {
      s = undefined;
    }
    if (s && s !== full && !s.endsWith(full)) return s;
    const local = lookup(catalog(type), full);
    return local ? fill(local, subs) : full;
  };
}
