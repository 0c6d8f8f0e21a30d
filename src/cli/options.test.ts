// Options generated from a schema and its table: flags, help, defaults, env values and problems.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { Command } from 'commander';
import { z } from 'zod';
import { httpUrl, type CliOptionTable } from '../core/config.ts';
import { addOptions, nameFlag, parseSwitch, parseWithFlags } from './options.ts';

const schema = z
  .object({
    port: z.number().int().min(0).default(5000),
    pauseMs: z.number().min(0).default(250),
    maxMs: z.union([z.number().positive(), z.literal(Infinity)]).default(Infinity),
    name: z.string().default('x'),
    register: z.boolean().default(true),
    censor: z.boolean().default(false),
    tags: z.array(z.string()).default(['a', 'b']),
    extra: z.record(z.string(), z.unknown()).default({}),
    url: httpUrl().optional(),
    token: z.string().min(4).optional(),
    store: z.string().default(':memory:'),
    internal: z.number().default(1),
  })
  .strict();

const table: CliOptionTable<z.input<typeof schema>> = {
  port: { env: 'T_PORT', arg: 'port', help: 'port' },
  pauseMs: { env: 'T_PAUSE_MS', unit: 'ms', help: 'pause' },
  maxMs: { env: 'T_MAX_MS', unit: 'ms', help: 'clamp' },
  name: { flag: '--the-name', env: 'T_NAME', help: 'name' },
  register: { env: 'T_NO_REGISTER', help: 'do not register', defaultText: 'registers' },
  censor: { env: 'T_CENSOR', help: 'censor', defaultText: 'off' },
  tags: { env: 'T_TAGS', arg: 'list', help: 'tags' },
  extra: { env: 'T_EXTRA', arg: 'json', help: 'extra', defaultText: 'none' },
  url: { env: 'T_URL', arg: 'url', help: 'url', url: true, defaultText: 'none' },
  token: { env: 'T_TOKEN', arg: 'token', help: 'token', fromFile: true, defaultText: 'none' },
  store: { env: 'T_STORE', arg: 'path', help: 'store', cliDefault: 'data/x.db' },
  internal: null,
};

const ENV_KEYS = Object.values(table).flatMap((s) => (s ? [s.env, `${s.env}_FILE`] : []));
afterEach(() => {
  for (const k of ENV_KEYS) delete process.env[k];
});
const dir = mkdtempSync(join(tmpdir(), 'jit-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Parses `args` (with `env` set) and returns what the generated options read. */
function read(args: string[], env: Record<string, string> = {}) {
  Object.assign(process.env, env);
  const cmd = new Command('t').exitOverride();
  const set = addOptions(cmd, schema, table);
  let result: ReturnType<typeof set.read> | undefined;
  cmd.action(() => {
    result = set.read(cmd);
  });
  cmd.parse(args, { from: 'user' });
  assert.ok(result);
  return { ...result, flags: set.flags, cmd };
}

describe('options generated from a schema and its table', () => {
  it('makes one option per entry: flag, placeholder, unit, schema default and variable', () => {
    const { cmd } = read([]);
    const help = cmd.helpInformation().replace(/\s+/g, ' ');
    assert.match(help, /--port <port> port \(default: "5000", env: T_PORT\)/);
    assert.match(help, /--pause-ms <ms> pause, in ms \(default: "250", env: T_PAUSE_MS\)/);
    assert.match(help, /--max-ms <ms> clamp, in ms \(default: "Infinity", env: T_MAX_MS\)/);
    assert.match(help, /--the-name <value> name \(default: "x", env: T_NAME\)/);
    assert.match(
      help,
      /--no-register do not register \(default: registers\) \(env: T_NO_REGISTER\)/,
    );
    assert.match(help, /--censor censor \(default: off\) \(env: T_CENSOR\)/);
    assert.match(help, /--tags <list> tags \(default: "a,b", env: T_TAGS\)/);
    assert.match(help, /--token-file <file> .*env: T_TOKEN_FILE/);
    assert.match(help, /--store <path> store \(default: "data\/x.db", env: T_STORE\)/);
    assert.doesNotMatch(help, /--internal/);
  });

  it('leaves defaults to the schema (only a command-line default is passed)', () => {
    const { values, problems } = read([]);
    assert.deepEqual(problems, []);
    assert.deepEqual(values, { store: 'data/x.db' });
    const config = parseWithFlags(schema, values, problems, {});
    assert.equal(config.port, 5000);
    assert.equal(config.register, true);
  });

  it('converts by the schema type: numbers, Infinity, lists, JSON, strings', () => {
    const { values, problems } = read([
      '--port',
      '7',
      '--max-ms',
      'Infinity',
      '--tags',
      'x, y,,z',
      '--extra',
      '{"k":1}',
      '--the-name',
      'n',
    ]);
    assert.deepEqual(problems, []);
    assert.deepEqual(values, {
      port: 7,
      maxMs: Infinity,
      tags: ['x', 'y', 'z'],
      extra: { k: 1 },
      name: 'n',
      store: 'data/x.db',
    });
  });

  it('reads switch variables by value, not by presence', () => {
    for (const off of ['0', 'false', 'no', 'off', 'FALSE', ' No ']) {
      assert.equal(read([], { T_NO_REGISTER: off }).values.register, true, `T_NO_REGISTER=${off}`);
      assert.equal(read([], { T_CENSOR: off }).values.censor, false, `T_CENSOR=${off}`);
    }
    for (const on of ['1', 'true', 'yes', 'on', 'TRUE']) {
      assert.equal(read([], { T_NO_REGISTER: on }).values.register, false, `T_NO_REGISTER=${on}`);
      assert.equal(read([], { T_CENSOR: on }).values.censor, true, `T_CENSOR=${on}`);
    }
    assert.equal(read(['--no-register'], { T_NO_REGISTER: '0' }).values.register, false);
    assert.equal(read(['--censor'], { T_CENSOR: 'off' }).values.censor, true);
  });

  it('reports a switch variable that is not yes/no, naming flag and variable', () => {
    const { values, problems } = read([], { T_CENSOR: 'maybe', T_NO_REGISTER: '' });
    assert.equal(values.censor, undefined);
    assert.deepEqual(problems, [
      '--no-register (T_NO_REGISTER=""): not a yes/no value; use 1, true, yes, on or 0, false, no, off',
      '--censor (T_CENSOR="maybe"): not a yes/no value; use 1, true, yes, on or 0, false, no, off',
    ]);
    assert.equal(parseSwitch('2'), undefined);
  });

  it('reports values it cannot read, each naming its flag, and every schema problem with them', () => {
    const { values, problems, flags } = read(
      ['--port', '0x10', '--extra', '{', '--url', 'localhost:1'],
      {
        T_PAUSE_MS: '-1',
      },
    );
    assert.deepEqual(problems, [
      '--port (port): "0x10" is not a number',
      '--extra (extra): not JSON: {',
      '--url (url): "localhost:1" has no scheme: did you mean http://localhost:1?',
    ]);
    assert.throws(
      () => parseWithFlags(schema, values, problems, flags),
      (err: Error & { problems: string[] }) => {
        assert.equal(err.problems.length, 4);
        assert.match(err.problems[3] ?? '', /^--pause-ms \(pauseMs\): Too small/);
        return true;
      },
    );
  });

  it('reads a secret from its file, and refuses both at once', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'sekrit\n');
    assert.equal(read(['--token-file', file]).values.token, 'sekrit');
    assert.deepEqual(read(['--token', 'abcd', '--token-file', file]).problems, [
      '--token and --token-file: give one, not both',
    ]);
    assert.match(
      read([], { T_TOKEN_FILE: join(dir, 'none') }).problems[0] ?? '',
      /^--token-file: cannot read .* \(ENOENT\)$/,
    );
  });

  it('names a nested problem by the flag of its longest named prefix', () => {
    const flags = { strategyOptions: '--strategy-options', 'strategyOptions.sigma.k': '--sigma-k' };
    assert.equal(
      nameFlag('strategyOptions.adaptive.gamma: Too small', flags),
      '--strategy-options (strategyOptions.adaptive.gamma): Too small',
    );
    assert.equal(
      nameFlag('strategyOptions.sigma.k: bad', flags),
      '--sigma-k (strategyOptions.sigma.k): bad',
    );
    assert.equal(nameFlag('cyclePauseMs: bad', {}), '--cycle-pause-ms (cyclePauseMs): bad');
    assert.equal(nameFlag('(root): bad', flags), '(root): bad');
  });
});
