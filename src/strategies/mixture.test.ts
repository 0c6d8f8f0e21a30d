// `adaptive` with several learning rates (DtACI): the weights' maths by hand, the state's round trip and restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidConfigError } from '../core/errors.ts';
import { createAdaptiveStrategy } from './adaptive.ts';
import {
  DTACI_LEARNING_RATES,
  dtaciParameters,
  levelPinball,
  mixtureStep,
  readMixtureState,
  shareAbove,
  type MixtureState,
} from './mixture.ts';
import { runStrategy } from './run.ts';

const w = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms, one request per ms
const ts = w.map((_, i) => 1_000_000 + i);
const open = { min: -Infinity, max: Infinity };

describe('DtACI parameters', () => {
  it("follow the paper's theorem with I = 1/α: σ = 1/(2I), η = √(3/I)·√(ln(K·I) + 2)/(α(1 − α))", () => {
    const { eta, sigma } = dtaciParameters(8, 0.001);
    assert.equal(sigma, 1 / 2000);
    const expected = (Math.sqrt(3 / 1000) * Math.sqrt(Math.log(8000) + 2)) / (0.001 * 0.999);
    assert.ok(Math.abs(eta - expected) < 1e-9);
    // The paper's denominator (1−α)²α³ + α²(1−α)³ is α²(1−α)²: the same number.
    const paper =
      Math.sqrt(3 / 1000) *
      Math.sqrt((Math.log(8000) + 2) / (0.999 ** 2 * 1e-9 + 1e-6 * 0.999 ** 3));
    assert.ok(Math.abs(eta - paper) < 1e-6 * eta);
    assert.deepEqual(
      DTACI_LEARNING_RATES,
      [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128],
    );
  });
  it('level pinball: α·(β − θ) when the request was covered, (1 − α)·(θ − β) when it was not', () => {
    assert.ok(Math.abs(levelPinball(0.5, 0.01, 0.01) - 0.01 * 0.49) < 1e-15);
    assert.ok(Math.abs(levelPinball(0.001, 0.01, 0.01) - 0.99 * 0.009) < 1e-15);
    assert.equal(shareAbove(w, 990), 0.01);
    assert.equal(shareAbove(w, 0), 1);
    assert.equal(shareAbove(w, 5000), 0);
  });
});

describe('mixtureStep', () => {
  const prior = (corrections: number[]): MixtureState => ({
    v: 3,
    corrections,
    weights: corrections.map(() => 1 / corrections.length),
    baseMs: 990,
    widthMs: 500,
  });

  it('one request by hand: weights ∝ exp(−η·loss), then mixed with the uniform by σ', () => {
    // Experts at −1 and +0.5 IQR; mixture −0.25 → served 865 ms; their thresholds 490 and 1240 ms.
    const r = mixtureStep(prior([-1, 0.5]), [995], 865, w, 0.01, [0.01, 0.1], open);
    const { eta, sigma } = dtaciParameters(2, 0.01);
    const beta = 0.005; // 5 of 1000 values above 995 ms
    const l0 = levelPinball(beta, 0.51, 0.01); // 490 ms: 510 values above
    const l1 = levelPinball(beta, 0, 0.01); // 1240 ms: none above
    const a = Math.exp(-eta * l0);
    const b = Math.exp(-eta * l1);
    const w1 = (1 - sigma) * (b / (a + b)) + sigma / 2;
    assert.ok(Math.abs((r.weights[1] as number) - w1) < 1e-12);
    const [w0 = 0, w1b = 0] = r.weights;
    assert.ok(Math.abs(w0 + w1b - 1) < 1e-12);
  });

  it('moves the weight toward the expert with the lower pinball loss, and the served correction with it', () => {
    // A batch of the whole window: the expert at 1240 ms (level 0) is far closer to the true
    // p99 (990 ms) on the probability scale than the one at 490 ms (level 0.51).
    const r = mixtureStep(prior([-1, 0.5]), w, 865, w, 0.01, [0.01, 0.1], open);
    assert.ok((r.weights[1] as number) > 0.99, String(r.weights));
    // σ keeps every expert alive: no weight below σ/K.
    assert.ok((r.weights[0] as number) >= dtaciParameters(2, 0.01).sigma / 2);
    const [a0 = 0, a1 = 0] = r.weights;
    const [c0 = 0, c1 = 0] = r.corrections;
    assert.ok(Math.abs(r.correction - (a0 * c0 + a1 * c1)) < 1e-12);
    // The other way round: an expert at the true p99 (990 ms) beats one far above every value
    // (10 990 ms; mixture 10 IQR → served 5 990 ms).
    // The requests in a shuffled order (i·7 mod 1000), so that the 10 above 990 ms are spread
    // out: σ makes the weights forget over ~1/σ requests, and 10 misses at the very end would
    // rightly favour the higher threshold for now.
    const shuffled = w.map((_, i) => w[(i * 7) % 1000] as number);
    const low = mixtureStep(prior([0, 20]), shuffled, 5990, w, 0.01, [0.01, 0.1], open);
    assert.ok((low.weights[0] as number) > (low.weights[1] as number), String(low.weights));
  });

  it('each expert takes its own tracker step, unsaturated: equal thresholds, equal losses, weights held', () => {
    // All at 0: every expert served 990 ms. The last 100 requests (901..1000 ms): 10 above it,
    // all counted (plain ACI per expert; the single tracker would count ⌈1 + 3 + 1⌉ = 5):
    // γ_k·(10 − 100·0.01) = 9·γ_k.
    const since = w.slice(900);
    const r = mixtureStep(prior([0, 0]), since, 990, w, 0.01, [0.01, 0.1], open);
    assert.deepEqual(r.weights, [0.5, 0.5]);
    assert.ok(Math.abs((r.corrections[0] as number) - 0.09) < 1e-12);
    assert.ok(Math.abs((r.corrections[1] as number) - 0.9) < 1e-12);
    assert.ok(Math.abs(r.correction - 0.495) < 1e-12);
    // Clamped to the range (anti-windup), expert by expert.
    const c = mixtureStep(prior([0, 0]), since, 990, w, 0.01, [0.01, 0.1], { min: -1, max: 0.1 });
    assert.deepEqual(
      c.corrections.map((x) => Math.round(x * 1e12) / 1e12),
      [0.09, 0.1],
    );
  });
});

describe('adaptive: the mixture (the default)', () => {
  type Out = { timeoutMs: number; method: string; reason: string; state: Record<string, unknown> };
  const rates = [0.01, 0.1];
  const run = (previous?: {
    servedMs: number;
    computedAtMs: number;
    state?: Record<string, unknown>;
  }) =>
    createAdaptiveStrategy({ learningRates: rates }).compute({
      endpoint: 'e',
      durationsMs: w,
      timestampsMs: ts,
      alpha: 0.01,
      previous,
    }) as unknown as Out;

  it("is the default, with DtACI's grid of eight rates", () => {
    const r = createAdaptiveStrategy().compute({ endpoint: 'e', durationsMs: w, alpha: 0.01 });
    const state = (r as unknown as Out).state;
    assert.equal(state.v, 3);
    assert.deepEqual(state.corrections, new Array(8).fill(0));
    assert.deepEqual(state.weights, new Array(8).fill(1 / 8));
    assert.match(createAdaptiveStrategy().description, /DtACI mixture of 8/);
  });
  it('starts at the window quantile with a v3 state: corrections 0, equal weights, base and scale', () => {
    const r = run();
    assert.equal(r.timeoutMs, 990);
    assert.deepEqual(r.state, {
      v: 3,
      corrections: [0, 0],
      weights: [0.5, 0.5],
      baseMs: 990,
      widthMs: 500,
    });
    assert.match(r.reason, /2 learning rates/);
  });

  it('round-trips its state through JSON, small, and learns from the requests since', () => {
    let previous = { servedMs: 990, computedAtMs: 1_000_900, state: run().state };
    const served: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = run(previous);
      const json = JSON.stringify(r.state);
      assert.ok(json.length < 400, json);
      assert.deepEqual(Object.keys(r.state).sort(), [
        'baseMs',
        'corrections',
        'v',
        'weights',
        'widthMs',
      ]);
      served.push(r.timeoutMs);
      previous = {
        ...previous,
        servedMs: r.timeoutMs,
        state: JSON.parse(json) as Record<string, unknown>,
      };
    }
    // First batch: 10 of 100 above 990 ms → corrections [0.09, 0.9], the second clamped to the
    // bound's (1250 − 990)/500 = 0.52; weights equal: 990 + 0.305 × 500 = 1142.5 ms. Then the
    // thresholds differ and the weights move.
    assert.ok(Math.abs((served[0] as number) - 1142.5) < 1e-9, String(served));
    assert.ok(
      served.every((v) => v >= 990 && v <= 1250),
      String(served),
    );
  });

  it('restarts cleanly from an older state (v2, the level-space {level}, another grid)', () => {
    const fresh = run().state;
    for (const state of [
      { v: 2, correction: 0.3 },
      { level: 0.00001 },
      { v: 3, corrections: [1], weights: [1], baseMs: 1, widthMs: 1 },
    ]) {
      const r = run({ servedMs: 5000, computedAtMs: 1_000_900, state });
      assert.equal(r.timeoutMs, 990);
      assert.deepEqual(r.state, fresh);
    }
    assert.equal(
      readMixtureState({ v: 3, corrections: [0, 0], weights: [0, 1], baseMs: 1, widthMs: 1 }, 2)
        .restarted,
      true,
    );
    // And the single tracker restarts from a v3 state.
    const single = createAdaptiveStrategy({ calibration: 'single' }).compute({
      endpoint: 'e',
      durationsMs: w,
      timestampsMs: ts,
      alpha: 0.01,
      previous: { servedMs: 5000, computedAtMs: 1_000_900, state: fresh },
    }) as unknown as Out;
    assert.ok(Math.abs((single.state.correction as number) + 0.1) < 1e-12); // from 0: 100 hits
  });

  it('refuses a grid of one rate or a rate above 1 (a 4xx config error, not a crash)', () => {
    assert.throws(() => createAdaptiveStrategy({ learningRates: [0.1] }), /learningRates/);
    assert.throws(() => createAdaptiveStrategy({ learningRates: [0.1, 2] }), /learningRates/);
    // An option of the other calibration is refused, not silently ignored.
    assert.throws(() => createAdaptiveStrategy({ gamma: 0.01 }), InvalidConfigError);
    assert.throws(
      () => createAdaptiveStrategy({ calibration: 'single', learningRates: [0.1, 0.2] }),
      /learningRates: apply to calibration "mixture" only/,
    );
    assert.equal(createAdaptiveStrategy({ calibration: 'single', gamma: 0.01 }).name, 'adaptive');
  });

  it("histogram windows apply the mixture's carried correction, held, each expert clamped", async () => {
    // Buckets (0,10] (10,20] (20,40] (40,80]: q60 = 30 ms, IQR 17.5 ms, bound 100 ms.
    const h = { boundsMs: [10, 20, 40, 80], counts: [10, 20, 60, 10, 0] };
    const state = { v: 3, corrections: [0, 100], weights: [0.75, 0.25], baseMs: 30, widthMs: 17.5 };
    const r = await runStrategy(createAdaptiveStrategy({ learningRates: rates }), {
      endpoint: 'e',
      durationsMs: [],
      alpha: 0.4,
      histogram: h,
      previous: { servedMs: 1, computedAtMs: 0, state },
    });
    // Expert 2 clamped to (100 − 30)/17.5 = 4; mixture 0.25 × 4 = 1 → 30 + 17.5 = 47.5 ms.
    assert.ok(Math.abs(r.timeoutMs - 47.5) < 1e-9, String(r.timeoutMs));
    assert.deepEqual(r.state, {
      v: 3,
      corrections: [0, 4],
      weights: [0.75, 0.25],
      baseMs: 30,
      widthMs: 17.5,
    });
  });
});
