// The dashboard's browser code is plain JavaScript with JSDoc types: TypeScript checks it here
// (the project's own type-check has no DOM), so a type error fails `npm test` like anywhere else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../helpers/processes.ts';

it('type-checks src/dashboard/public/*.js against the DOM and uPlot types', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const project = join(REPO_ROOT, 'src/dashboard/public/tsconfig.json');
  const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
});
