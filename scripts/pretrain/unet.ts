/**
 * Pretrains the detex-mini text-to-image UNet (diffusers UNet2DConditionModel, small config) on world renders
 * (train split) encoded by the trained detex-mini VAE, conditioned on the frozen detex-mini text encoder's
 * last_hidden_state (a seeded placeholder until that exists). ε-prediction on SD v1's DDIM training schedule;
 * the caption is dropped (→ "") 10% of the time for classifier-free guidance.
 *
 * Every checkpoint exports `<out>/unet/`, `<out>/scheduler/` and `<out>/model_index.json`; every --eval-every
 * steps it samples the eval captions and scores background/colour with the world oracle (`<cache>/eval.jsonl`,
 * `<cache>/samples.png`), and, when `<out>/attribute_classifier/` exists, class / colour / pattern / background
 * with the world attribute classifier (lib/metrics/world-attributes.ts) on the samples and on the real renders.
 *
 *   node dist/scripts/pretrain/unet.js --minutes 20     (resumes from .detex-cache/pretrain/unet)
 *   flags: --batch N (16), --steps N (total; fixes the lr schedule), --eval-every N (300), --eval-only,
 *          --min-snr γ (5; 0 = plain MSE), --warm-start (no checkpoint: continue from <out>/unet's weights),
 *          --ema DECAY (keep a weight average, export it, evaluate it beside the trained weights),
 *          --fg-weight W (1: plain loss; W > 1 weighs the subject's latent pixels W× the background's),
 *          --attend λ (0: off; adds λ × the word-attention term of lib/pretrain/word-attention.ts: each attn2 layer
 *          must put ≥ --attend-target τ (0.2) of the subject's attention on --attend-on pattern[,class,colour]'s word),
 *          --close-ups F (0: that fraction of each batch's subjects is posed larger than the world's scale range,
 *          lib/world/pose.ts CLOSE_UP_SCALE, so texture is a larger share of the loss),
 *          --only class=…,colour=…,pattern=…,secondary=…,background=… (train and evaluate on a narrowed world,
 *          lib/world/scene-filter.ts: a capacity test; the exported weights are not a model of the whole world),
 *          --pattern-sets (each batch is sets of one scene under all four patterns, each set sharing its timestep, noise
 *          and caption dropout: lib/world/pattern-sets.ts, lib/pretrain/pattern-sets.ts), --pattern-weight W (1: with
 *          --pattern-sets, weighs the latent pixels where the item's pattern shows W× the others, as --fg-weight does the subject's),
 *          --attribute-head λ (0: off; adds λ × the loss of an auxiliary head that reads the subject's class, colour and
 *          pattern from the hidden state after --head-at MODULE (down_blocks.0), lib/pretrain/attribute-head.ts; not exported),
 *          --encode-ahead (a low-priority child process renders and VAE-encodes the next steps' batches:
 *          lib/pretrain/encode-ahead.ts; same data, the step skips ~25 % of its work when a batch is ready),
 *          --contrast λ (0: off; adds λ × the caption-contrast term of lib/pretrain/caption-contrast.ts, each
 *          item's class or pattern word swapped, one more UNet pass per step), --contrast-margin m (0.05),
 *          --contrast-on class,pattern[,colour] (which words are swapped; class and pattern by default), --contrast-region all|subject
 *          (compare the errors over the whole frame, or on the subject's latent pixels only), --contrast-timesteps FIRST,LAST
 *          (every timestep by default: the term acts only on the items whose training timestep is in that window),
 *          --train-text (fine-tune the text encoder's layers with the UNet, lib/pretrain/joint-text.ts; exports
 *          `<out>/text_encoder/` too), --train-text-rows WORD,… (as --train-text, but only those words' token rows
 *          are trained and the layers stay frozen, lib/pretrain/token-rows.ts; --text-anchor and --text-separate apply,
 *          --text-keep and --concept-keep do not), --text-anchor w (1: weight of its pooled-embedding anchor),
 *          --text-lr-scale s (1: its lr relative to the UNet's), --text-separate τ (0: off; with --contrast, asks
 *          each swapped caption's hidden states to differ from the true one's by ≥ τ, lib/pretrain/text-separation.ts),
 *          --text-keep class,colour,pattern,background (with --train-text: hold those attributes' separation at the
 *          frozen encoder's level on a walk through base scenes, lib/pretrain/text-separation.ts separationKeeper;
 *          logs sepClass… as the trained encoder's separation over the frozen one's on the step's captions),
 *          --concept-keep (with --train-text: hold the spread of random new-token vectors at [V] and [B_1], shaped
 *          like trained DETEX concepts, at the frozen encoder's; lib/pretrain/concept-keeper.ts; logs conceptV and
 *          conceptB as the trained encoder's spread over the frozen one's),
 *          --lr PEAK (8e-4), --warmup N (100),
 *          --widen-from DIR (no checkpoint: start from DIR/unet's trained weights widened to --channels, each width an
 *          integer multiple of the old one; lib/pretrain/widen-unet.ts; fresh optimizer, like --warm-start),
 *          --layers N or N,N,N (1: resnets per down block, per level or for all),
 *          --deepen-from DIR (no checkpoint: start from DIR/unet's trained weights with the extra --layers inserted as
 *          identities, lib/pretrain/deepen-unet.ts; fresh optimizer),
 *          --freeze-cross-kv (keep every attn2 to_k / to_v, the projections DETEX fine-tunes, at the starting weights;
 *          kept in <cache>/frozen.safetensors for resumes, lib/pretrain/frozen-params.ts),
 *          --detex-keep DIR (adds --detex-keep-weight λ (1) × the term of lib/pretrain/detex-prompt-keep.ts: under DETEX-shaped
 *          prompts with random concepts, predict the noise DIR/unet predicts; logs detexKeep)
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { writeFileAtomic } from '../../lib/io/atomic-write';
import { HostTensor, toTf } from '../../lib/io/host-tensor';
import { writePng } from '../../lib/io/image';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { CHECKPOINT_FILE, exportComponent, initialStore, loadCheckpoint, evalInterval, parseRunArgs, refuseToOverwriteTrained, runLoop } from '../../lib/pretrain';
import { aheadDir, stepBatch, takeAheadBatch, writeCursor } from '../../lib/pretrain/encode-ahead';
import { evaluateT2I, formatT2IScores } from '../../lib/pretrain/t2i-eval';
import { WorldAttributeClassifier } from '../../lib/metrics/world-attributes';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { makeTrainingNoise } from '../../lib/schedulers/training-noise';
import { minSnrWeights } from '../../lib/schedulers/min-snr';
import { SCHEDULER_CONFIG, UNET_IMAGE_SIZE, UNET_SEED, unetConfig } from './unet-config';
import { foregroundWeights, subjectOnlyWeights, weightedItemMse } from '../../lib/pretrain/foreground-weight';
import { captionContrastLoss, contrastedItems, parseContrastAttributes, parseTimestepWindow, swapCaptionWord } from '../../lib/pretrain/caption-contrast';
import { weightsId } from '../../lib/pretrain/weights-id';
import { widenUNet } from '../../lib/pretrain/widen-unet';
import { deepenUNet } from '../../lib/pretrain/deepen-unet';
import { seededInitializer } from '../../lib/nn/init';
import { parseSceneFilter, SceneFilter, sceneFilterSpec } from '../../lib/world/scene-filter';
import { PATTERN_SET_SIZE } from '../../lib/world/pattern-sets';
import { dropCaptionGroups, groupedTrainingNoise } from '../../lib/pretrain/pattern-sets';
import { readSafetensors } from '../../lib/io/safetensors';
import { readComponentConfig, weightFiles } from '../../lib/io/diffusers-folder';
import { ParamStore } from '../../lib/nn/params';
import { detexModelIndex } from '../../lib/models/default-model';
import { JointTextTraining } from '../../lib/pretrain/joint-text';
import { parseTrainedWords } from '../../lib/pretrain/token-rows';
import { CONCEPT_COUNT, conceptKeeper, initialiserRow } from '../../lib/pretrain/concept-keeper';
import { KEEPER_BASES, KEEPER_POOL, SEPARATED_ATTRIBUTES, attributeSeparation, frozenSpread, keeperFirstScene, separationHinge, separationKeeper } from '../../lib/pretrain/text-separation';
import { parseAttributeList } from '../../lib/pretrain/caption-attributes';
import { AttendedAttribute, attributeTokenPositions, parseAttendedAttributes, wordAttentionLoss } from '../../lib/pretrain/word-attention';
import { AttentionMaps } from '../../lib/models/unet/attention-capture';
import { AttributeHead } from '../../lib/pretrain/attribute-head';
import { keepFrozen } from '../../lib/pretrain/frozen-params';
import { KV_PATTERN } from '../../lib/detex/trainer';
import { KEPT_PER_GROUP, detexPromptKeep, detexPromptStates } from '../../lib/pretrain/detex-prompt-keep';

const CHECKPOINT_EVERY = 100;

const CFG_DROPOUT = 0.1;

const MODEL_INDEX = detexModelIndex('detex-mini: pretrained on the procedural world (lib/world, train split) by scripts/pretrain; see TRAINING.md');

/** The encode-ahead child (scripts/pretrain/encode-ahead.ts); its IPC channel ties its life to this process. */
function startProducer(cache: string, out: string, batch: number, until: number, mix: { closeUps: number; only: SceneFilter | undefined; patternSets: boolean }): ChildProcess {
  const args = ['--cache', cache, '--out', out, '--batch', String(batch), '--until', String(until), '--close-ups', String(mix.closeUps), '--only', sceneFilterSpec(mix.only)];
  const child = fork(path.join(__dirname, 'encode-ahead.js'), mix.patternSets ? [...args, '--pattern-sets'] : args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('exit', (code) => {
    if (code) console.warn(`encode-ahead exited with code ${code}: steps encode inline from here`);
  });
  return child;
}

/** `<dir>/unet` and its weight files, checked before the VAE and text encoder load. */
function trainedSource(flag: string, dir: string): { unetDir: string; files: string[] } {
  const unetDir = path.join(dir, 'unet');
  try {
    return { unetDir, files: weightFiles(unetDir) };
  } catch (e) {
    throw new Error(`pretrain/unet: ${flag}: no trained UNet weights at ${unetDir}: ${(e as Error).message}`);
  }
}

/** The trained UNet a run grows from: its config and every weight of its files. */
function readTrained(source: { unetDir: string; files: string[] }): { oldConfig: Record<string, unknown>; trained: Map<string, HostTensor> } {
  return { oldConfig: readComponentConfig(source.unetDir), trained: new Map(source.files.flatMap((f) => [...readSafetensors(f).tensors])) };
}

/** Those trained weights widened to `config`; prints where the wider model only approximates the old one. */
function widenedStore(source: { unetDir: string; files: string[] }, config: Record<string, unknown>): { store: ParamStore; warmFrom: string } {
  const { oldConfig, trained } = readTrained(source);
  const wide = widenUNet(oldConfig as never, config as never, trained, { seed: UNET_SEED });
  for (const a of wide.approximations) console.log(`widen: approximated: ${a}`);
  return { store: ParamStore.fromHost(wide.weights), warmFrom: `${source.files.join(', ')} (${(oldConfig.block_out_channels as number[]).join('/')})` };
}

/** Those trained weights with `config`'s extra layers inserted as identities; `check` runs once the model is built. */
function deepenedStore(source: { unetDir: string; files: string[] }, config: Record<string, unknown>): { store: ParamStore; warmFrom: string; check: () => void } {
  const { oldConfig, trained } = readTrained(source);
  const deep = deepenUNet(oldConfig as never, config as never, trained, seededInitializer(UNET_SEED));
  const check = (): void => {
    const unread = deep.unread();
    if (unread.length) throw new Error(`deepen: the deeper UNet left ${unread.length} trained parameter(s) unused, e.g. '${unread[0]}'`);
  };
  return { store: ParamStore.initializing(deep.init), warmFrom: `${source.files.join(', ')} (layers_per_block ${JSON.stringify(oldConfig.layers_per_block)})`, check };
}

/** Channels of the hidden state after a top-level UNet module (`--head-at`). */
function hiddenChannels(blockOut: readonly number[], module: string): number {
  const m = /^(down_blocks|up_blocks)\.(\d+)$/.exec(module);
  const i = m ? Number(m[2]) : -1;
  if (module === 'conv_in') return blockOut[0];
  if (module === 'mid_block') return blockOut[blockOut.length - 1];
  if (m && i < blockOut.length) return m[1] === 'down_blocks' ? blockOut[i] : [...blockOut].reverse()[i];
  throw new Error(`pretrain/unet: --head-at must be conv_in, down_blocks.i, mid_block or up_blocks.i (i < ${blockOut.length}), got '${module}'`);
}

/** `--layers`: one resnet count for every down block, or one per level. */
function parseLayers(raw: unknown, levels: number): number | number[] {
  const parts = String(raw ?? '1').split(',').map(Number);
  if (!parts.every((n) => Number.isInteger(n) && n > 0) || (parts.length !== 1 && parts.length !== levels)) {
    throw new Error(`pretrain/unet: --layers must be one positive integer or ${levels} (one per level), got '${String(raw)}'`);
  }
  return parts.length === 1 ? parts[0] : parts;
}

/** The word-attention term over every attn2 layer, for each attended attribute (summed), or undefined when no caption has one. */
function wordAttention(
  text: TextConditioner, attrs: readonly AttendedAttribute[], target: number,
): (maps: AttentionMaps, captions: readonly string[], masks: HostTensor) => { loss: tf.Scalar; share: tf.Scalar } | undefined {
  return (maps, captions, masks) => {
    const ids = text.tokenIds(captions);
    const m = toTf(masks) as tf.Tensor4D;
    const terms = attrs.flatMap((a) => wordAttentionLoss(maps, attributeTokenPositions(captions, ids, a, (w) => text.wordIds(w)), m, target) ?? []);
    if (terms.length === 0) return undefined;
    return { loss: tf.addN(terms.map((t) => t.loss)) as tf.Scalar, share: tf.div(tf.addN(terms.map((t) => t.share)), terms.length) as tf.Scalar };
  };
}

async function main(): Promise<void> {
  await initBackend();
  const root = path.resolve(__dirname, '..', '..', '..');
  const args = parseRunArgs('unet', root, {
    batch: { type: 'string' }, 'eval-every': { type: 'string' }, 'eval-only': { type: 'boolean' },
    channels: { type: 'string' }, layers: { type: 'string' }, 'min-snr': { type: 'string' }, ema: { type: 'string' }, 'fg-weight': { type: 'string' },
    'encode-ahead': { type: 'boolean' }, contrast: { type: 'string' }, 'contrast-margin': { type: 'string' },
    'contrast-on': { type: 'string' }, 'contrast-region': { type: 'string' }, 'contrast-timesteps': { type: 'string' },
    'train-text': { type: 'boolean' }, 'train-text-rows': { type: 'string' }, 'text-anchor': { type: 'string' }, 'text-lr-scale': { type: 'string' }, 'text-separate': { type: 'string' }, 'text-keep': { type: 'string' }, 'concept-keep': { type: 'boolean' }, lr: { type: 'string' }, warmup: { type: 'string' },
    'widen-from': { type: 'string' }, 'deepen-from': { type: 'string' }, 'close-ups': { type: 'string' }, only: { type: 'string' },
    attend: { type: 'string' }, 'attend-on': { type: 'string' }, 'attend-target': { type: 'string' }, 'pattern-sets': { type: 'boolean' }, 'pattern-weight': { type: 'string' },
    'attribute-head': { type: 'string' }, 'head-at': { type: 'string' }, 'freeze-cross-kv': { type: 'boolean' },
    'detex-keep': { type: 'string' }, 'detex-keep-weight': { type: 'string' },
  });
  const batch = Number(args.rest.batch ?? 16);
  const evalEvery = evalInterval('unet', args.rest['eval-every'], 300, CHECKPOINT_EVERY);
  // Min-SNR-γ weighting (lib/schedulers/min-snr.ts) from step 1650 of run 2 on; --min-snr 0 turns it off.
  const minSnr = Number(args.rest['min-snr'] ?? 5);
  // A weight average (lib/pretrain/ema.ts) from run 6 on; exported and evaluated beside the trained weights.
  const emaDecay = args.rest.ema === undefined ? undefined : Number(args.rest.ema);
  // Subject-weighted loss (lib/pretrain/foreground-weight.ts) from run 9 on: class and pattern were not learned.
  const fgWeight = Number(args.rest['fg-weight'] ?? 1);
  // Session 11: the pattern words are still ignored; close-ups make the subject's texture a larger share of the loss.
  const closeUps = Number(args.rest['close-ups'] ?? 0);
  if (!(closeUps >= 0 && closeUps <= 1)) throw new Error(`pretrain/unet: --close-ups must be a fraction in [0, 1], got '${args.rest['close-ups']}'`);
  // Session 11: the subject's queries put 3-4 % of their attention on the pattern word (lib/pretrain/word-attention.ts).
  // Session 13: a capacity test trains and evaluates on a narrowed world (lib/world/scene-filter.ts).
  const only = args.rest.only === undefined ? undefined : parseSceneFilter(String(args.rest.only));
  // Session 15: every run on the whole world left the pattern words unused; sets contrast them on one scene.
  const patternSets = !!args.rest['pattern-sets'];
  if (patternSets && batch % PATTERN_SET_SIZE !== 0) throw new Error(`pretrain/unet: --pattern-sets needs a --batch that is a multiple of ${PATTERN_SET_SIZE}, got ${batch}`);
  const patternWeight = Number(args.rest['pattern-weight'] ?? 1);
  if (!(patternWeight >= 1 && Number.isFinite(patternWeight))) throw new Error(`pretrain/unet: --pattern-weight must be a number ≥ 1, got '${args.rest['pattern-weight']}'`);
  if (patternWeight > 1 && !patternSets) throw new Error('pretrain/unet: --pattern-weight needs --pattern-sets (the sets say where each pattern shows)');
  if (patternWeight > 1 && fgWeight > 1) throw new Error('pretrain/unet: --pattern-weight and --fg-weight each weigh the loss; pass one');
  const attend = Number(args.rest.attend ?? 0);
  const attendOn = parseAttendedAttributes(String(args.rest['attend-on'] ?? 'pattern'));
  const attendTarget = Number(args.rest['attend-target'] ?? 0.2);
  if (!(attend >= 0)) throw new Error(`pretrain/unet: --attend must be a number ≥ 0, got '${args.rest.attend}'`);
  if (!(attendTarget > 0 && attendTarget < 1)) throw new Error(`pretrain/unet: --attend-target must be in (0, 1), got '${args.rest['attend-target']}'`);
  // Session 15: an auxiliary head asks the hidden states to hold the subject's attributes (lib/pretrain/attribute-head.ts).
  const headWeight = Number(args.rest['attribute-head'] ?? 0);
  if (!(headWeight >= 0)) throw new Error(`pretrain/unet: --attribute-head must be a number ≥ 0, got '${args.rest['attribute-head']}'`);
  const headAt = String(args.rest['head-at'] ?? 'down_blocks.0');
  if (headWeight > 0 && attend > 0) throw new Error('pretrain/unet: --attribute-head and --attend each change the forward pass; pass one');
  // Caption contrast (lib/pretrain/caption-contrast.ts) from session 7: more steps of the plain loss left the class
  // and pattern words nearly unused.
  const contrast = Number(args.rest.contrast ?? 0);
  const contrastMargin = Number(args.rest['contrast-margin'] ?? 0.05);
  if (!(contrast >= 0)) throw new Error(`pretrain/unet: --contrast must be a number ≥ 0, got '${args.rest.contrast}'`);
  // Session 8: run 11's whole-frame contrast taught class but not pattern; a pattern swap changes only the subject.
  const contrastOn = parseContrastAttributes(String(args.rest['contrast-on'] ?? 'class,pattern'));
  const contrastRegion = String(args.rest['contrast-region'] ?? 'all');
  if (contrastRegion !== 'all' && contrastRegion !== 'subject') {
    throw new Error(`pretrain/unet: --contrast-region must be 'all' or 'subject', got '${contrastRegion}'`);
  }
  const windowSpec = args.rest['contrast-timesteps'];
  if (windowSpec !== undefined && !(contrast > 0)) throw new Error('pretrain/unet: --contrast-timesteps needs --contrast (it narrows where that term acts)');
  const contrastWindow = windowSpec === undefined ? undefined : parseTimestepWindow(String(windowSpec), SCHEDULER_CONFIG.num_train_timesteps);
  // Session 9: the frozen text encoder hardly tells the pattern words apart (lib/pretrain/joint-text.ts).
  // Session 19: every encoder with trained layers left DETEX worse; DETEX's prompts hold no pattern word.
  const trainRows = args.rest['train-text-rows'] === undefined ? undefined : parseTrainedWords(String(args.rest['train-text-rows']));
  if (trainRows && args.rest['train-text']) throw new Error('pretrain/unet: --train-text trains the encoder layers, --train-text-rows only some token rows; pass one');
  const trainText = !!args.rest['train-text'] || trainRows !== undefined;
  const textAnchor = Number(args.rest['text-anchor'] ?? 1);
  const textLrScale = Number(args.rest['text-lr-scale'] ?? 1);
  // Session 9: with the layers trained by the diffusion and contrast losses alone, the pattern separation stayed
  // at 0.10 while the hidden states drifted 12 %: nothing asked for the pattern word to be read.
  const textSeparate = Number(args.rest['text-separate'] ?? 0);
  if (textSeparate > 0 && !(trainText && Number(args.rest.contrast ?? 0) > 0)) {
    throw new Error('pretrain/unet: --text-separate needs --train-text and --contrast (it compares the contrast\'s swapped captions)');
  }
  // Session 16: run 26's pattern terms cost the background and colour words their separation, and DETEX's [B_i] and
  // [V] with it (TRAINING.md, run 27).
  const textKeep = args.rest['text-keep'] === undefined ? [] : parseAttributeList(String(args.rest['text-keep']), SEPARATED_ATTRIBUTES, 'pretrain/unet: --text-keep');
  if (textKeep.length > 0 && trainRows) throw new Error('pretrain/unet: --text-keep holds trained encoder layers; with --train-text-rows the other words cannot move');
  if (textKeep.length > 0 && !trainText) throw new Error('pretrain/unet: --text-keep needs --train-text (it holds the trained encoder to the frozen one)');
  // Session 18: run 29 held the words' separation and DETEX still failed; its concepts are not words (TRAINING.md, run 29).
  const conceptKeep = !!args.rest['concept-keep'];
  if (conceptKeep && trainRows) throw new Error('pretrain/unet: --concept-keep holds trained encoder layers; with --train-text-rows DETEX\'s new vectors meet the frozen ones');
  if (conceptKeep && !trainText) throw new Error('pretrain/unet: --concept-keep needs --train-text (it holds the trained encoder to the frozen one)');
  // Session 21: a pattern run's UNet with the shipped cross-attention K/V put back personalised as the shipped one did
  // ([V] colour 12 of 12 on cup and bottle, against 8 with its own K/V): the K/V DETEX fine-tunes stay as they start.
  // Run 35 trained on that way and lost [V] again through the other weights (TRAINING.md, runs 33–35).
  const freezeCrossKV = !!args.rest['freeze-cross-kv'];
  // Session 22: so the rest is asked directly to answer DETEX's prompts as a UNet that personalises well does.
  const detexKeepFrom = args.rest['detex-keep'] === undefined ? undefined : trainedSource('--detex-keep', String(args.rest['detex-keep']));
  const detexKeepWeight = Number(args.rest['detex-keep-weight'] ?? 1);
  if (!(detexKeepWeight > 0)) throw new Error(`pretrain/unet: --detex-keep-weight must be a number > 0, got '${args.rest['detex-keep-weight']}'`);
  if (detexKeepFrom && batch < 2 * KEPT_PER_GROUP) throw new Error(`pretrain/unet: --detex-keep compares ${2 * KEPT_PER_GROUP} prompts on the batch's noisy latents; --batch must be ≥ ${2 * KEPT_PER_GROUP}, got ${batch}`);
  if (args.rest['detex-keep-weight'] !== undefined && !detexKeepFrom) throw new Error('pretrain/unet: --detex-keep-weight needs --detex-keep DIR (the UNet whose answers are kept)');
  const peakLr = Number(args.rest.lr ?? 8e-4);
  const warmup = Number(args.rest.warmup ?? 100);
  for (const [flag, v] of [['text-anchor', textAnchor], ['text-lr-scale', textLrScale], ['text-separate', textSeparate], ['lr', peakLr], ['warmup', warmup]] as const) {
    if (!(v >= 0)) throw new Error(`pretrain/unet: --${flag} must be a number ≥ 0, got '${args.rest[flag]}'`);
  }
  const channels = String(args.rest.channels ?? '32,64,64').split(',').map(Number);
  const config = unetConfig(channels, parseLayers(args.rest.layers, channels.length));
  // Session 10: checkpoints do not outlive a machine, so a wider UNet starts from the trained one (widen-unet.ts);
  // session 14: a deeper one too (deepen-unet.ts).
  const starts = (['widen-from', 'deepen-from', 'warm-start'] as const).filter((f) => args.rest[f] !== undefined && args.rest[f] !== false);
  if (starts.length > 1) throw new Error(`pretrain/unet: ${starts.map((f) => `--${f}`).join(' and ')} each choose the starting weights; pass one`);
  const widenFrom = args.rest['widen-from'] === undefined ? undefined : trainedSource('--widen-from', String(args.rest['widen-from']));
  const deepenFrom = args.rest['deepen-from'] === undefined ? undefined : trainedSource('--deepen-from', String(args.rest['deepen-from']));
  if (!args.rest['eval-only'] && widenFrom === undefined && deepenFrom === undefined) refuseToOverwriteTrained(args, CHECKPOINT_FILE, ['unet']);

  const vaeDir = path.join(args.out, 'vae');
  const vae = AutoencoderKL.load(vaeDir);
  const vaeId = weightsId(path.join(vaeDir, 'diffusion_pytorch_model.safetensors'));
  const tokenizerFallback = path.join(root, 'models', 'detex-tiny', 'tokenizer');
  const text = TextConditioner.load(args.out, tokenizerFallback);
  const attendWords = wordAttention(text, attendOn, attendTarget);
  const scheduler = DDIMScheduler.fromConfig(SCHEDULER_CONFIG);
  const ckpt = path.join(args.cache, CHECKPOINT_FILE);
  const resuming = fs.existsSync(ckpt);
  const { store, warmFrom, check } =
    widenFrom !== undefined && !resuming
      ? { ...widenedStore(widenFrom, config), check: undefined }
      : deepenFrom !== undefined && !resuming
        ? deepenedStore(deepenFrom, config)
        : { ...initialStore(args, CHECKPOINT_FILE, path.join(args.out, 'unet', 'diffusion_pytorch_model.safetensors'), UNET_SEED), check: undefined };
  if (warmFrom) console.log(`${widenFrom !== undefined ? 'widened' : deepenFrom !== undefined ? 'deepened' : 'warm'} start from ${warmFrom}`);
  const unet = UNet2DConditionModel.fromConfig(config as never, store);
  check?.();
  if (freezeCrossKV && !resuming && !warmFrom) throw new Error('pretrain/unet: --freeze-cross-kv keeps trained K/V projections; start from trained weights (--warm-start, --widen-from or --deepen-from)');
  const frozen = freezeCrossKV ? store.names().filter((name) => KV_PATTERN.test(name)) : [];
  const unetVars = store.makeTrainable((name) => !frozen.includes(name));
  if (frozen.length > 0) keepFrozen(store, frozen, args.cache, resuming);
  const head = headWeight > 0 ? new AttributeHead(hiddenChannels(config.block_out_channels as number[], headAt), 128, UNET_SEED) : undefined;
  const nParams = [...unetVars.values()].reduce((a, v) => a + v.size, 0);
  const joint = trainText ? JointTextTraining.start(text, args.out, args.cache, tokenizerFallback, fs.existsSync(ckpt), trainRows) : undefined;
  const vars = new Map([...unetVars, ...(joint?.vars ?? []), ...(head?.vars ?? [])]);
  // the conditioning the checkpoint was trained with: fixed files, or the encoder trained in it from a reference
  const textId = joint ? `joint:${joint.referenceIdentity}` : text.identity;
  console.log(`UNet ${channels.join('/')} × ${JSON.stringify(config.layers_per_block)} layers: ${(nParams / 1e6).toFixed(2)}M parameters, batch ${batch}; VAE ${vaeId} (scaling ${vae.scalingFactor}); text ${textId}` +
    (joint ? ` with its ${([...joint.vars.values()].reduce((a, v) => a + v.size, 0) / 1e6).toFixed(4)}M ${trainRows ? `token-row parameters (${trainRows.join(', ')})` : 'layer parameters'} trained (anchor ${textAnchor}, lr ×${textLrScale})` : ''));
  const keeping = joint && textKeep.length > 0 ? joint : undefined;
  const keepReference = keeping ? frozenSpread((c) => keeping.referenceEmbed(c)) : undefined;
  const conceptReference = joint && conceptKeep ? joint.referenceConceptEncoder() : undefined;
  const conceptKeeping = conceptReference ? { trained: text.conceptEncoder(), reference: conceptReference, init: initialiserRow(conceptReference) } : undefined;
  if (conceptKeeping) console.log(`concept keep: ${CONCEPT_COUNT} random [V] and ${CONCEPT_COUNT} random [B_1] per step at the frozen encoder's spread`);
  const detexKeeping = detexKeepFrom
    ? { reference: UNet2DConditionModel.load(detexKeepFrom.unetDir), text: text.conceptEncoder(), init: initialiserRow(text.conceptEncoder()) }
    : undefined;
  if (detexKeeping) console.log(`detex keep: ${detexKeepWeight} × the noise ${detexKeepFrom!.unetDir} predicts under DETEX's prompts with random concepts`);
  if (keeping) console.log(`text keep: ${textKeep.join(', ')} at the frozen encoder's separation per caption group, ${KEEPER_BASES} of ${KEEPER_POOL} base scenes per step`);

  if (fs.existsSync(ckpt)) {
    const { SafetensorsReader } = await import('../../lib/io/safetensors');
    const r = SafetensorsReader.open(ckpt);
    const meta = r.metadata;
    r.close();
    if (meta.vae !== vaeId) console.warn(`warning: the checkpoint was trained on VAE ${meta.vae}, now ${vaeId}: training continues on the new latents`);
    if (meta.text !== textId) console.warn(`warning: the checkpoint was trained with text ${meta.text}, now ${textId}: training continues with the new encoder`);
  }

  const exportAll = (step: number) => {
    exportComponent(path.join(args.out, 'unet'), config, store, {
      weightsFile: 'diffusion_pytorch_model.safetensors',
      metadata: { step: String(step), vae: vaeId, text: textId },
    });
    joint?.export(args.out, step);
    fs.mkdirSync(path.join(args.out, 'scheduler'), { recursive: true });
    writeFileAtomic(path.join(args.out, 'scheduler', 'scheduler_config.json'), JSON.stringify(SCHEDULER_CONFIG, null, 2) + '\n');
    writeFileAtomic(path.join(args.out, 'model_index.json'), JSON.stringify(MODEL_INDEX, null, 2) + '\n');
  };

  const classifierDir = path.join(args.out, 'attribute_classifier');
  const classifier = fs.existsSync(classifierDir) ? WorldAttributeClassifier.load(classifierDir) : undefined;
  const evaluate = async (step: number, weights: 'trained' | 'average' = 'trained') => {
    const t0 = Date.now();
    const { scores, sheet } = await evaluateT2I({ unet, vae, scheduler, text, classifier, only });
    await writePng(path.join(args.cache, weights === 'average' ? 'samples-average.png' : 'samples.png'), sheet);
    // with --train-text, whether the encoder now tells the words apart (lib/pretrain/text-separation.ts)
    const separation = joint ? attributeSeparation((c) => text.embed(c)) : undefined;
    const line = { step, weights, ...scores, separation, vae: vaeId, text: textId, evalMs: Date.now() - t0, time: new Date().toISOString() };
    fs.appendFileSync(path.join(args.cache, 'eval.jsonl'), JSON.stringify(line) + '\n');
    const sepText = separation ? `; text separation ${Object.entries(separation).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}` : '';
    console.log(`eval step ${step}, ${weights} weights (${Date.now() - t0} ms): ${formatT2IScores(scores).join('; ')}${sepText}`);
  };

  if (args.rest['eval-only']) {
    if (fs.existsSync(ckpt)) {
      const { step } = loadCheckpoint(ckpt, vars);
      await evaluate(step);
    } else await evaluate(0);
  } else {
    const ahead = args.rest['encode-ahead'] ? aheadDir(args.cache) : undefined;
    const producer = ahead ? startProducer(args.cache, args.out, batch, args.steps ?? 5000, { closeUps, only, patternSets }) : undefined;
    let taken = 0;
    const result = await runLoop({
      dir: args.cache,
      vars,
      seed: UNET_SEED,
      schedule: { lr: peakLr, warmupSteps: warmup, totalSteps: args.steps ?? 5000, minRatio: 0.1 },
      lrScale: joint ? (name) => (name.startsWith('text_encoder/') ? textLrScale : 1) : undefined,
      adam: { weightDecay: 1e-2 },
      clipNorm: 1,
      checkpointEvery: CHECKPOINT_EVERY,
      minutes: args.minutes,
      maxSteps: args.maxSteps,
      handleSignals: true,
      metadata: { vae: vaeId, text: textId, batch: String(batch), channels: channels.join(','), minSnr: String(minSnr), fgWeight: String(fgWeight), closeUps: String(closeUps), only: sceneFilterSpec(only), patternSets: String(patternSets), patternWeight: String(patternWeight), contrast: String(contrast), contrastMargin: String(contrastMargin), contrastOn: contrastOn.join(','), contrastRegion, contrastTimesteps: contrastWindow ? `${contrastWindow.first},${contrastWindow.last}` : 'all', attend: String(attend), attendOn: attendOn.join(','), attendTarget: String(attendTarget), attributeHead: String(headWeight), headAt, textKeep: textKeep.join(','), conceptKeep: String(conceptKeep), textRows: (trainRows ?? []).join(','), freezeCrossKV: String(freezeCrossKV), detexKeep: detexKeepFrom ? `${detexKeepWeight}` : '0' },
      emaDecay,
      print: (l) => console.log(l),
      onCheckpoint: async (step, ctx) => {
        const evalNow = step % evalEvery === 0;
        if (evalNow && ctx.hasAverage) await evaluate(step, 'trained');
        // The shipped weights are the average when the run keeps one.
        await ctx.withAveragedWeights(async () => {
          exportAll(step);
          if (evalNow) await evaluate(step, ctx.hasAverage ? 'average' : 'trained');
        });
      },
      loss: ({ rng, step }) => {
        if (ahead) writeCursor(ahead, step);
        const ready = ahead ? takeAheadBatch(ahead, step, vaeId, { batch, size: UNET_IMAGE_SIZE, closeUps, only, patternSets }) : undefined;
        if (ready) taken++;
        const b = ready ?? stepBatch(vae, rng, { batch, size: UNET_IMAGE_SIZE, closeUps, only, patternSets });
        const drop = rng.fork('cfg');
        const captions = patternSets
          ? dropCaptionGroups(b.captions, drop, CFG_DROPOUT, PATTERN_SET_SIZE)
          : b.captions.map((c) => (drop.nextDouble() < CFG_DROPOUT ? '' : c));
        const latents = b.latents;
        const conditioned = joint?.embed(captions);
        const ehs = conditioned?.ehs ?? text.embed(captions);
        const n = patternSets
          ? groupedTrainingNoise(scheduler, latents, rng.fork('noise'), PATTERN_SET_SIZE)
          : makeTrainingNoise(scheduler, latents, rng.fork('noise'));
        const attended = attend > 0 ? unet.forwardWithAttention(n.noisyLatents as tf.Tensor4D, n.timesteps, ehs) : undefined;
        const withHidden = head ? unet.forwardWithIntermediates(n.noisyLatents as tf.Tensor4D, n.timesteps, ehs) : undefined;
        const pred = attended?.sample ?? withHidden?.sample ?? unet.forward(n.noisyLatents as tf.Tensor4D, n.timesteps, ehs);
        const hidden = withHidden?.intermediates[headAt];
        if (withHidden && !hidden) throw new Error(`pretrain/unet: --head-at '${headAt}' is not one of ${Object.keys(withHidden.intermediates).join(', ')}`);
        // the head reads what the UNet was given: a dropped caption has no labels
        const headTerm = head && hidden ? head.loss(hidden as tf.Tensor4D, toTf(b.masks) as tf.Tensor4D, captions) : undefined;
        const attention = attended ? attendWords(attended.attentionMaps, captions, b.masks) : undefined;
        const plainPerItem = tf.mean(tf.squaredDifference(pred, n.target), [1, 2, 3]) as tf.Tensor1D;
        const weighted = patternWeight > 1 && b.patternRegions ? { masks: b.patternRegions, w: patternWeight } : fgWeight > 1 ? { masks: b.masks, w: fgWeight } : undefined;
        const perItem = weighted
          ? weightedItemMse(pred, n.target as tf.Tensor4D, foregroundWeights(toTf(weighted.masks) as tf.Tensor4D, pred.shape[1], weighted.w))
          : plainPerItem;
        const diffusion = (minSnr > 0 ? tf.mean(tf.mul(perItem, tf.tensor1d(minSnrWeights(scheduler, n.timesteps, minSnr)))) : tf.mean(perItem)) as tf.Scalar;
        const kept = keepReference ? separationKeeper((c) => text.embed(c), keepReference, textKeep, keeperFirstScene(step)) : undefined;
        const conceptKept = conceptKeeping ? conceptKeeper(conceptKeeping.trained, conceptKeeping.reference, conceptKeeping.init, step, UNET_SEED) : undefined;
        // the step's tensors (these states among them) are freed with the step, after the backward pass needs them
        const detexKept = detexKeeping
          ? detexPromptKeep(unet, detexKeeping.reference, n.noisyLatents as tf.Tensor4D, n.timesteps, detexPromptStates(detexKeeping.text, detexKeeping.init, step, UNET_SEED))
          : undefined;
        const withKeep = [kept?.loss, conceptKept?.loss, detexKept ? (tf.mul(detexKeepWeight, detexKept) as tf.Scalar) : undefined].reduce<tf.Scalar>((acc, t) => (t ? (tf.add(acc, t) as tf.Scalar) : acc), diffusion);
        const anchored = conditioned ? (tf.add(withKeep, tf.mul(textAnchor, conditioned.anchor)) as tf.Scalar) : withKeep;
        const attendedLoss = attention ? (tf.add(anchored, tf.mul(attend, attention.loss)) as tf.Scalar) : anchored;
        const denoising = headTerm ? (tf.add(attendedLoss, tf.mul(headWeight, headTerm.loss)) as tf.Scalar) : attendedLoss;
        const anchorLog: Record<string, tf.Scalar> = {
          ...(conditioned ? { anchor: conditioned.anchor } : {}),
          // each kept separation relative to the frozen encoder's on the same captions (the scenes change every step)
          ...(kept ? { keep: kept.loss, ...Object.fromEntries(textKeep.map((a) => [`sep${a[0].toUpperCase()}${a.slice(1)}`, tf.div(kept.separation[a], kept.reference[a])])) } : {}),
          ...(conceptKept ? { conceptKeep: conceptKept.loss, conceptV: conceptKept.relative.V, conceptB: conceptKept.relative.B } : {}),
          ...(detexKept ? { detexKeep: detexKept } : {}),
          ...(attention ? { attend: attention.loss, share: attention.share } : {}),
          ...(headTerm ? { head: headTerm.loss, headClass: headTerm.accuracy.class, headColour: headTerm.accuracy.colour, headPattern: headTerm.accuracy.pattern } : {}),
        };
        if (contrast === 0) return { loss: denoising, logs: anchorLog };
        // The same noisy latents and timesteps under captions with the class or the pattern word swapped.
        const pick = rng.fork('contrast');
        const swapped = captions.map((c) => swapCaptionWord(c, contrastOn[Math.floor(pick.nextDouble() * contrastOn.length)], pick));
        const idx = contrastedItems(swapped, n.timesteps, contrastWindow);
        // how many items the term compared this step (a --contrast-timesteps window leaves some out)
        const contrasted = tf.scalar(idx.length);
        if (idx.length === 0) return { loss: denoising, logs: { ...anchorLog, contrasted } };
        const at = tf.tensor1d(idx, 'int32');
        const target = tf.gather(n.target, at) as tf.Tensor4D;
        const ehsSwapped = text.embed(idx.map((i) => swapped[i]!));
        const predSwapped = unet.forward(tf.gather(n.noisyLatents, at) as tf.Tensor4D, idx.map((i) => n.timesteps[i]), ehsSwapped);
        let errSwapped: tf.Tensor1D;
        let errTrue: tf.Tensor1D;
        if (contrastRegion === 'subject') {
          const w = subjectOnlyWeights(tf.gather(toTf(b.masks), at) as tf.Tensor4D, pred.shape[1]);
          errSwapped = weightedItemMse(predSwapped, target, w);
          errTrue = weightedItemMse(tf.gather(pred, at) as tf.Tensor4D, target, w);
        } else {
          errSwapped = tf.mean(tf.squaredDifference(predSwapped, target), [1, 2, 3]) as tf.Tensor1D;
          errTrue = tf.gather(plainPerItem, at);
        }
        const term = captionContrastLoss(errTrue, errSwapped, contrastMargin);
        // how much worse the swapped captions predict the noise, relative to the true ones (the probe's gap)
        const gap = tf.sub(tf.div(tf.sum(errSwapped), tf.sum(errTrue)), 1) as tf.Scalar;
        const total = tf.add(denoising, tf.mul(contrast, term)) as tf.Scalar;
        if (textSeparate === 0) return { loss: total, logs: { ...anchorLog, contrast: term, gap, contrasted } };
        const separate = separationHinge(tf.gather(ehs, at) as tf.Tensor3D, ehsSwapped, textSeparate);
        return { loss: tf.add(total, separate) as tf.Scalar, logs: { ...anchorLog, contrast: term, gap, separate, contrasted } };
      },
    });
    if (producer?.connected) producer.disconnect();
    if (ahead) console.log(`encode-ahead: ${taken} of ${result.ran} steps took a ready batch`);
    console.log(`done: step ${result.step} (${result.stoppedBy}), recent loss ${result.recentLoss.toFixed(4)}`);
  }
  unet.dispose();
  vae.dispose();
  text.dispose();
  joint?.dispose();
  classifier?.dispose();
  head?.dispose();
  detexKeeping?.reference.dispose();
}

main().catch((e: Error) => {
  console.error(`pretrain/unet: ${e.stack ?? e.message}`);
  process.exit(1);
});
