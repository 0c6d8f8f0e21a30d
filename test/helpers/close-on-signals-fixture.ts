// A process that only runs closeOnSignals, for the shutdown tests: FIXTURE_CLOSE says how its
// close behaves (ok: resolves at once; hang: never settles), FIXTURE_FORCE_MS bounds it.
import { closeOnSignals } from '../../src/core/process.ts';

const mode = process.env.FIXTURE_CLOSE ?? 'ok';
const forceAfterMs = Number(process.env.FIXTURE_FORCE_MS ?? 10_000);
// Something to keep the event loop alive, as a listening server would.
const keepAlive = setInterval(() => {}, 60_000);
closeOnSignals(
  () => {
    if (mode === 'hang') return new Promise<void>(() => {});
    clearInterval(keepAlive);
    return Promise.resolve();
  },
  { info: (m: string) => process.stdout.write(`${m}\n`) },
  { forceAfterMs },
);
process.stdout.write(`ready pid=${process.pid}\n`);
