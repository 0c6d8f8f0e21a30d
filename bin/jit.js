#!/usr/bin/env node
// Entry point of the `jit` CLI: dist/ in an installed package; in a checkout, dist/ while it matches src/, else src/ through tsx.
//
// An installed package ships dist/ and no src/ (package.json "files"): it runs the compiled
// JavaScript at once, without hashing anything and without tsx (a dev dependency). A checkout runs
// dist/ when it was built from the sources as they are now (`npm run build`, which `npm install`
// runs) and otherwise registers tsx and imports the TypeScript, so that an edit is picked up at
// once. Compiled matters: the loader costs ~40 MB of memory in every process (its own thread).
import { existsSync, readFileSync } from 'node:fs';

const COMPILED = new URL('../dist/cli/main.js', import.meta.url);
const SOURCE = new URL('../src/cli/main.ts', import.meta.url);

/** A checkout's dist/ is current when its stamp is the SHA-256 of src/ now (~10–50 ms). */
async function builtFromCurrentSources() {
  if (process.env.JIT_FROM_SOURCE === '1') return false;
  let stamp;
  try {
    ({ stamp } = JSON.parse(
      readFileSync(new URL('../dist/source-stamp.json', import.meta.url), 'utf8'),
    ));
  } catch {
    return false; // no build
  }
  // Imported only here: an installed package ships no scripts/.
  const { sourceStamp } = await import('../scripts/source-stamp.mjs');
  return stamp === sourceStamp();
}

/** Registers tsx, or says how to get a runnable CLI when it is not installed (`--omit=dev`). */
async function registerTsx() {
  let api;
  try {
    api = await import('tsx/esm/api');
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    process.stderr.write(
      'jit: dist/ is missing or older than src/, and tsx (a dev dependency) is not installed to ' +
        'run the sources: run `npm install` then `npm run build`\n',
    );
    process.exit(1);
  }
  api.register();
}

let entry = COMPILED;
if (existsSync(SOURCE) && !(await builtFromCurrentSources())) {
  await registerTsx();
  entry = SOURCE;
}
const { main } = await import(entry.href);
await main(process.argv);
