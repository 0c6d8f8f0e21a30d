// Piscina entry of the forecast pool: loads the task, compiled (dist/) or through tsx (src/).
import { existsSync } from 'node:fs';

// Next to the compiled task (dist/, see scripts/build.mjs) this file imports JavaScript. Next to
// the TypeScript source it registers tsx in this thread first: threads do not inherit a loader
// registered through tsx's API (bin/jit.js); under `node --import tsx` registering again is
// harmless.
// (Only dist/ has it: derived from this file's own URL, forecast-task.mjs → forecast-task.js.)
const compiled = new URL(import.meta.url.replace(/\.mjs$/, '.js'));
let task;
try {
  if (existsSync(compiled)) {
    task = await import(compiled.href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    task = await import('./forecast-task.ts');
  }
} catch (err) {
  // The strategy checks for tfjs before starting threads (tfjs.ts); this says the same should the
  // package disappear in between, instead of a resolver's stack trace in every job's error.
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('@tensorflow/tfjs')) {
    throw new Error(
      'strategy "seed" needs @tensorflow/tfjs, which is not installed: npm install @tensorflow/tfjs',
      { cause: err },
    );
  }
  throw err;
}
const { forecastTask, lowerThreadPriority, prepareTfjs } = task;
lowerThreadPriority(); // training yields the CPU to the HTTP server and its heartbeats
await prepareTfjs(); // at thread start, not in the first job's budget

export default forecastTask;
