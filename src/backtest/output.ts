// Checks before a backtest that its report files can be written, so a typo fails in a second, not after the run.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { OutputNotWritableError } from '../core/errors.ts';

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // a parent is missing or a file
    throw err;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws `OutputNotWritableError` (naming `flag`, e.g. `--html`) when `path` cannot be written:
 * its directory is missing, is not a directory or is not writable, or the path is a directory or
 * a file that is not writable. Writes nothing.
 */
export function assertWritable(path: string, flag: string): void {
  const full = resolve(path);
  const fail = (reason: string) => {
    throw new OutputNotWritableError(path, `${reason} (${flag})`);
  };
  const st = statOrUndefined(full);
  if (st?.isDirectory()) fail('it is a directory');
  if (st) {
    if (!writable(full)) fail('the file is not writable');
    return;
  }
  const dir = dirname(full);
  const d = statOrUndefined(dir);
  if (!d) fail(`the directory ${dir} does not exist`);
  else if (!d.isDirectory()) fail(`${dir} is not a directory`);
  else if (!writable(dir)) fail(`the directory ${dir} is not writable`);
}
