import { HostTensor } from '../../lib/io/host-tensor';
import { decodeTensorMsgToHost, encodeTensorMsg, TensorMsg } from '../../lib/tensor-msg';
import { NodeError } from './node-base';

/** A validated HostTensor from a msg property (live or JSON tensor msg form). */
export function tensorFrom(x: unknown, prop: string): HostTensor {
  try {
    return decodeTensorMsgToHost(x);
  } catch (e) {
    throw new NodeError('common.errors.badTensor', { prop, error: (e as Error).message });
  }
}

export function toMsg(h: HostTensor): TensorMsg {
  return encodeTensorMsg(h);
}

/** Parses a JSON array typed in the editor ("" = undefined). */
export function jsonArray(s: unknown): number[] | number[][] | undefined {
  if (Array.isArray(s)) return s as number[];
  if (typeof s !== 'string' || s.trim() === '') return undefined;
  const v = JSON.parse(s) as unknown;
  if (!Array.isArray(v)) throw new Error(`expected a JSON array, got ${s}`);
  return v as number[];
}
