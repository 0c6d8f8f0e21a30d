// Whether the optional peer dependency @tensorflow/tfjs is installed: `seed` asks before it starts threads.
import { MissingDependencyError } from '../../core/errors.ts';

/** The package the training threads import (an optional peer dependency: npm does not install it). */
export const TFJS_PACKAGE = '@tensorflow/tfjs';

/**
 * Throws MissingDependencyError unless tfjs resolves from this folder, the way the training
 * threads (forecast-task.ts → model.ts) will import it. Resolving only finds the file: loading
 * tfjs (~1.5 s) stays in the threads, so no main thread ever loads it.
 */
export function assertTfjsInstalled(
  resolve: (specifier: string) => string = (specifier) => import.meta.resolve(specifier),
): void {
  try {
    resolve(TFJS_PACKAGE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new MissingDependencyError('strategy "seed"', TFJS_PACKAGE);
  }
}
