/**
 * A short identity of a weights file (first 12 hex digits of its SHA-1). Pretraining stamps it into checkpoints
 * and batch files so a run can tell when the VAE or text encoder under it changed; every writer and reader of
 * such a stamp must compute it here, or they would disagree.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';

export function weightsId(file: string): string {
  return crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex').slice(0, 12);
}
