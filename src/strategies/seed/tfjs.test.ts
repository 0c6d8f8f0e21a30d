// The check for the optional peer dependency @tensorflow/tfjs that `seed` runs before its threads start.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MissingDependencyError } from '../../core/errors.ts';
import { assertTfjsInstalled, TFJS_PACKAGE } from './tfjs.ts';

const notFound = (specifier: string): never => {
  throw Object.assign(new Error(`Cannot find package '${specifier}'`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
};

describe('assertTfjsInstalled', () => {
  it('passes where tfjs is installed (this repository has it as a dev dependency)', () => {
    assert.doesNotThrow(() => assertTfjsInstalled());
  });

  it('asks for the package by name when it does not resolve', () => {
    assert.throws(
      () => assertTfjsInstalled(notFound),
      (err: unknown) =>
        err instanceof MissingDependencyError &&
        err.code === 'MISSING_DEPENDENCY' &&
        err.statusCode === 501 &&
        err.message ===
          'strategy "seed" needs @tensorflow/tfjs, which is not installed: npm install @tensorflow/tfjs' &&
        err.details?.['package'] === TFJS_PACKAGE,
    );
  });

  it('lets any other resolver failure through unchanged', () => {
    const broken = new Error('EACCES');
    assert.throws(
      () =>
        assertTfjsInstalled(() => {
          throw broken;
        }),
      (err: unknown) => err === broken,
    );
  });
});
