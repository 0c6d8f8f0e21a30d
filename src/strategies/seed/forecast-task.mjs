// Piscina entry of the forecast pool: registers tsx in this worker thread, then loads the TS task.
import { register } from 'tsx/esm/api';

// Threads do not inherit a loader registered through tsx's API (bin/jit.js); under
// `node --import tsx` they do, and registering once more is harmless.
register();
const { forecastTask, lowerThreadPriority, prepareTfjs } = await import('./forecast-task.ts');
lowerThreadPriority(); // training yields the CPU to the HTTP server and its heartbeats
await prepareTfjs(); // at thread start, not in the first job's budget

export default forecastTask;
