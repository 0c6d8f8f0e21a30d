#!/usr/bin/env node
// Entry point of the `jit` CLI: the compiled JavaScript in dist/ when it was built from the
// sources as they are now (`npm run build`, which `npm install` runs), else the TypeScript
// sources through tsx. The loader costs ~40 MB of memory in every process (its own thread), so a
// broker runs compiled; a developer's edit is picked up at once through tsx until the next build.
import { readFileSync } from 'node:fs';
import { sourceStamp } from '../scripts/source-stamp.mjs';

function builtFromCurrentSources() {
  if (process.env.JIT_FROM_SOURCE === '1') return false;
  try {
    const { stamp } = JSON.parse(
      readFileSync(new URL('../dist/source-stamp.json', import.meta.url), 'utf8'),
    );
    return stamp === sourceStamp();
  } catch {
    return false; // no build
  }
}

let main;
if (builtFromCurrentSources()) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
