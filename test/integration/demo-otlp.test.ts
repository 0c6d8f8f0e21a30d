// `jit demo` on OTLP: the real process sends SDK spans to its receiver, endpoints are discovered with distinct timeouts, SIGTERM exits 0.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { DEMO_ROUTES, demoEndpointName } from '../../src/cli/demo-traffic.ts';
import { REPO_ROOT } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';

interface EndpointView {
  endpoint: string;
  timeoutMs: number;
  status: string;
  samples: number;
}

const children = new Set<ReturnType<typeof spawn>>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** The environment without the variables `jit` reads (JIT_*) or that `npm test` adds. */
function env(): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('JIT_') || k.startsWith('npm_') || k === 'NODE_TEST_CONTEXT') continue;
    base[k] = v;
  }
  return base;
}

describe('jit demo on OTLP', () => {
  it('discovers the SDK traffic endpoints with distinct computed timeouts; SIGTERM exits 0', async () => {
    const proc = spawn(
      process.execPath,
      ['bin/jit.js', 'demo', '--port', '0', '--otlp-port', '0', '--cycle-pause-ms', '500'],
      { cwd: REPO_ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(proc);
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      proc.once('exit', (code, signal) => r({ code, signal })),
    );

    const [, url, otlpUrl] =
      (await waitFor(
        // exec answers null until the intro is out; waitFor retries on undefined.
        () =>
          /broker on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*OTLP receiver on (http:\/\/\S+)/.exec(out) ??
          undefined,
        20_000,
        { message: `the demo's intro\n${out}` },
      )) ?? [];
    assert.ok(url && otlpUrl, out);
    assert.doesNotMatch(out, /synthetic source instead/, 'the SDK is installed in this repository');
    assert.notEqual(new URL(otlpUrl).port, '0');

    const names = DEMO_ROUTES.map(demoEndpointName);
    const views = await waitFor(
      async () => {
        const res = await fetch(`${url}/v1/endpoints`);
        const body = (await res.json()) as { endpoints: EndpointView[] };
        const mine = names.map((n) => body.endpoints.find((e) => e.endpoint === n));
        // Computed from spans (not the default served before any value), for every endpoint.
        if (mine.some((e) => e === undefined || e.status !== 'fresh' || e.samples < 100))
          return undefined;
        return mine as EndpointView[];
      },
      30_000,
      { message: 'the four demo endpoints with computed values', intervalMs: 250 },
    );
    const values = views.map((v) => v.timeoutMs);
    assert.equal(new Set(values).size, values.length, `distinct timeouts: ${values.join(', ')}`);
    // The served value of a discovered name, through the original API.
    const served = await fetch(`${url}/gettimeout?url=${encodeURIComponent(names[0] ?? '')}`);
    assert.equal(served.status, 200);
    assert.ok(Number(await served.text()) > 0);

    // Live traffic keeps arriving: the sample count of an endpoint grows.
    const before = views[0]?.samples ?? 0;
    await waitFor(
      async () => {
        const res = await fetch(`${url}/v1/endpoints`);
        const body = (await res.json()) as { endpoints: EndpointView[] };
        return (body.endpoints.find((e) => e.endpoint === names[0])?.samples ?? 0) > before;
      },
      15_000,
      { message: 'more samples from live spans', intervalMs: 250 },
    );

    proc.kill('SIGTERM');
    const exit = await exited;
    children.delete(proc);
    assert.equal(exit.code, 0, out);
  });

  it('an --otlp-port in use is named with the flag to choose another; exit 2', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as AddressInfo;
    try {
      const run = spawnSync(
        process.execPath,
        ['bin/jit.js', 'demo', '--port', '0', '--otlp-port', String(port)],
        { cwd: REPO_ROOT, env: env(), encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(run.status, 2, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `port ${port} is in use; choose another with --otlp-port \\(or JIT_DEMO_OTLP_PORT`,
        ),
      );
    } finally {
      blocker.close();
    }
  });
});
