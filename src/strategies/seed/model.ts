// The original's model in tfjs: ConvLSTM2D → Flatten → Dense(1), Adam + MSE, trained under a deadline.
import * as tf from '@tensorflow/tfjs';
import { installFastConv2DBackpropFilter } from './conv-backprop-filter.ts';
import { orthogonalMatrix } from './orthogonal.ts';
import { seededUniform } from '../../core/random.ts';
import { seededPermutation } from './random.ts';
import { INPUT_SHAPE, WINDOW_LENGTH } from './steps.ts';

/** The training knobs (see options.ts for their meaning and defaults). */
export interface ModelOptions {
  filters: number;
  epochs: number;
  learningRate: number;
  batchSize: number;
  patience: number;
  minDelta: number;
  shuffle: boolean;
  seed: number;
}

/** Why training ended: all epochs ran, early stopping, the deadline, or a loss that was not finite. */
export type StopReason = 'epochs' | 'early-stop' | 'budget' | 'diverged';

export interface TrainOutcome {
  /** The model with the weights of its best completed epoch; null when no epoch completed. */
  model: tf.Sequential | null;
  /** Epochs completed. */
  epochs: number;
  /** Training loss (MSE, normalised units) of the best completed epoch; null when none. */
  loss: number | null;
  stoppedBy: StopReason;
}

/** Progress callbacks, for benchmarks (durations in ms). */
export interface TrainHooks {
  onBuilt?(ms: number): void;
  onEpochEnd?(epoch: number, loss: number, ms: number): void;
}

let ready: Promise<void> | undefined;

/** CPU backend, production mode (no console hints), fast filter gradient. Once per thread. */
export function prepareTfjs(): Promise<void> {
  ready ??= (async () => {
    tf.enableProdMode();
    await tf.setBackend('cpu');
    await tf.ready();
    installFastConv2DBackpropFilter();
  })();
  return ready;
}

/**
 * ConvLSTM2D(filters, kernel 1×2, ReLU, returning sequences) on [2, 1, 4, 1] → Flatten → Dense(1),
 * compiled with Adam(learningRate) and mean squared error. Initial weights are seeded: Glorot
 * uniform kernels, an orthogonal recurrent kernel, zero biases with forget-gate bias 1 (Keras'
 * defaults for ConvLSTM2D).
 */
export function buildForecaster(opts: Pick<ModelOptions, 'filters' | 'learningRate' | 'seed'>) {
  const { filters, seed } = opts;
  const model = tf.sequential();
  const conv = tf.layers.convLstm2d({
    filters,
    kernelSize: [1, 2],
    activation: 'relu',
    returnSequences: true,
    inputShape: [...INPUT_SHAPE],
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    // Both set below: tfjs' orthogonal initializer takes ~50 s for 128 filters, and its
    // `unitForgetBias` leaks three tensors per model (tfjs-layers 4.22).
    recurrentInitializer: 'zeros',
    biasInitializer: 'zeros',
  });
  model.add(conv);
  model.add(tf.layers.flatten());
  model.add(
    tf.layers.dense({
      units: 1,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
    }),
  );
  const [kernel, recurrent] = conv.getWeights() as [tf.Tensor, tf.Tensor, tf.Tensor];
  const shape = recurrent.shape; // [1, 2, filters, 4·filters]
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const cols = shape[shape.length - 1] as number;
  const gateBias = new Float32Array(4 * filters).fill(1, filters, 2 * filters); // gates i, f, c, o
  const [orthogonal, bias] = [
    tf.tensor(orthogonalMatrix(rows, cols, seed + 1), shape),
    tf.tensor1d(gateBias),
  ];
  conv.setWeights([kernel, orthogonal, bias]);
  orthogonal.dispose();
  bias.dispose();
  model.compile({ optimizer: tf.train.adam(opts.learningRate), loss: 'meanSquaredError' });
  return model;
}

/**
 * Trains a fresh model on `pairs` (windows of 8 → next value) until the epochs run out, early
 * stopping fires, or `deadlineMs` (epoch ms) passes — checked after every mini-batch; an epoch cut
 * short does not count, and the model keeps the weights of its best completed epoch.
 */
export async function trainForecaster(
  pairs: { x: Float32Array; y: Float32Array; count: number },
  opts: ModelOptions,
  deadlineMs = Number.POSITIVE_INFINITY,
  hooks: TrainHooks = {},
): Promise<TrainOutcome> {
  await prepareTfjs();
  if (pairs.count === 0 || Date.now() >= deadlineMs) {
    return { model: null, epochs: 0, loss: null, stoppedBy: 'budget' };
  }
  let mark = performance.now();
  const model = buildForecaster(opts);
  hooks.onBuilt?.(performance.now() - mark);
  mark = performance.now();
  const xs = tf.tensor(pairs.x, [pairs.count, ...INPUT_SHAPE]);
  const ys = tf.tensor(pairs.y, [pairs.count, 1]);
  const uniform = seededUniform(opts.seed + 3);
  let best: tf.Tensor[] | null = null;
  let bestLoss = Number.POSITIVE_INFINITY;
  let referenceLoss = Number.POSITIVE_INFINITY;
  let wait = 0;
  let epochs = 0;
  let stoppedBy: StopReason = 'epochs';
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      if (Date.now() >= deadlineMs) {
        stoppedBy = 'budget';
        break;
      }
      let interrupted = false;
      const history = await withEpochData(xs, ys, opts.shuffle ? uniform : null, (x, y) =>
        model.fit(x, y, {
          epochs: 1,
          batchSize: opts.batchSize,
          shuffle: false,
          verbose: 0,
          yieldEvery: 'never',
          callbacks: {
            onBatchEnd: () => {
              if (Date.now() >= deadlineMs) {
                interrupted = true;
                model.stopTraining = true;
              }
              return Promise.resolve();
            },
          },
        }),
      );
      if (interrupted) {
        stoppedBy = 'budget';
        break;
      }
      epochs++;
      const loss = Number(history.history.loss?.[0]);
      hooks.onEpochEnd?.(epochs, loss, performance.now() - mark);
      mark = performance.now();
      if (!Number.isFinite(loss)) {
        stoppedBy = 'diverged';
        break;
      }
      if (loss < bestLoss) {
        bestLoss = loss;
        best?.forEach((t) => t.dispose());
        best = model.getWeights().map((t) => t.clone());
      }
      if (loss < referenceLoss * (1 - opts.minDelta)) {
        referenceLoss = loss;
        wait = 0;
      } else if (opts.patience > 0 && ++wait >= opts.patience) {
        stoppedBy = 'early-stop';
        break;
      }
    }
  } finally {
    xs.dispose();
    ys.dispose();
  }
  if (!best) {
    disposeForecaster(model);
    return { model: null, epochs, loss: null, stoppedBy };
  }
  model.setWeights(best);
  best.forEach((t) => t.dispose());
  return { model, epochs, loss: bestLoss, stoppedBy };
}

/** Runs `fit` on the pairs, reordered by a seeded permutation when `uniform` is given. */
async function withEpochData<T>(
  xs: tf.Tensor,
  ys: tf.Tensor,
  uniform: (() => number) | null,
  fit: (x: tf.Tensor, y: tf.Tensor) => Promise<T>,
): Promise<T> {
  if (!uniform) return fit(xs, ys);
  const order = tf.tensor1d(seededPermutation(xs.shape[0], uniform), 'int32');
  const x = tf.gather(xs, order);
  const y = tf.gather(ys, order);
  order.dispose();
  try {
    return await fit(x, y);
  } finally {
    x.dispose();
    y.dispose();
  }
}

/** Frees the model's tensors and its optimizer's (Adam's moments are not the model's to free). */
export function disposeForecaster(model: tf.LayersModel): void {
  const optimizer = model.optimizer;
  model.dispose();
  optimizer?.dispose();
}

/** The model's outputs for `windows` (count × 8 values, each window oldest first). */
export function predictWindows(model: tf.LayersModel, windows: Float32Array): Float32Array {
  const count = windows.length / WINDOW_LENGTH;
  return tf
    .tidy(() => {
      const out = model.predict(tf.tensor(windows, [count, ...INPUT_SHAPE])) as tf.Tensor;
      return out.dataSync() as Float32Array;
    })
    .slice();
}
