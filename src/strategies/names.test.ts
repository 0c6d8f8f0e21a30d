// The light list of strategy names agrees with the registry that builds them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILT_IN_STRATEGIES, DEFAULT_STRATEGY, strategyNameProblem } from './names.ts';
import { comparableStrategyNames, strategyNames } from './registry.ts';

describe('strategy names', () => {
  it('lists exactly the strategies the registry builds, the default among them', () => {
    assert.deepEqual(strategyNames(), [...BUILT_IN_STRATEGIES]);
    assert.ok(strategyNames().includes(DEFAULT_STRATEGY));
    assert.ok(!comparableStrategyNames().includes('seed'));
  });
  it('names the problem and the known names for an unknown one; seed is known', () => {
    assert.equal(strategyNameProblem('seed'), undefined);
    assert.equal(
      strategyNameProblem('foo'),
      'unknown strategy "foo" (known: sigma, quantile, rto, adaptive, seed)',
    );
  });
});
