// `jit export` against a real broker: every format checked by the real programs and schemas (nginx -t, haproxy -c, Gateway API and
// Istio models), an nginx that cuts a slow upstream at the exported timeout, the read token, errors, and --watch with its hysteresis.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { parse, parseAllDocuments } from 'yaml';
import { buildBroker, type Broker } from '../../src/broker/app.ts';
import { brokerConfig, type BrokerConfigInput } from '../../src/broker/config.ts';
import { renderExport } from '../../src/export/render.ts';
import { parseMapping } from '../../src/export/mapping.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { info } from '../../src/store/timeout-store.conformance.ts';
import {
  HOSTILE_NAMES,
  HTTP_ROUTES,
  MAPPING,
  VIRTUAL_SERVICES,
} from '../helpers/export-fixtures.ts';
import { freePort } from '../helpers/influxd.ts';
import { REPO_ROOT, killAll, runJit } from '../helpers/processes.ts';
import { HAPROXY, NGINX, requireProgram } from '../helpers/proxies.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-export-'));
const children = new Set<ChildProcess>();

/** Stored values (ms) of the broker's endpoints; null: never computed. */
const STORED: Record<string, number | null> = {
  'checkout GET /api/cart/{id}': 200,
  'checkout POST /api/orders': 1000,
  'catalog GET /api/products': null,
  unmapped: 50,
  cut: 300,
  wait: 3000,
  // Names the broker accepts that try to break out of a configuration line.
  'a"; } location /pwned { return 200 "x': 100,
  "x' ; pwned { # }": 100,
  'x\u2028pwned: true': 100,
};

interface Started {
  broker: Broker;
  store: MemoryStore;
  url: string;
}

async function startBroker(extra: BrokerConfigInput = {}): Promise<Started> {
  const store = new MemoryStore();
  store.syncEndpoints(Object.keys(STORED).map((name) => ({ name, options: {} })));
  for (const [name, ms] of Object.entries(STORED)) {
    if (ms !== null) store.recordSuccess(name, ms, info(ms), new Date());
  }
  const list = join(dir, `endpoints-${Math.random()}.config`);
  writeFileSync(list, `${Object.keys(STORED).join('\n')}\n`);
  const config = brokerConfig({ port: 0, endpointsFile: list, cyclePauseMs: 3_600_000, ...extra });
  const broker = buildBroker(config, { store, logger: false });
  await broker.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = broker.app.server.address() as AddressInfo;
  return { broker, store, url: `http://127.0.0.1:${port}` };
}

/** What the broker serves now, by name. */
async function served(url: string, token?: string): Promise<Record<string, number>> {
  const res = await fetch(
    `${url}/v1/endpoints`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
  const body = (await res.json()) as { endpoints: { endpoint: string; timeoutMs: number }[] };
  return Object.fromEntries(body.endpoints.map((e) => [e.endpoint, e.timeoutMs]));
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const mappingFile = file('mapping.json', JSON.stringify(MAPPING));
const baseFile = file('routes.json', JSON.stringify(HTTP_ROUTES));
const vsFile = file('virtualservices.json', JSON.stringify(VIRTUAL_SERVICES));

/** The nginx main configuration the tests run: everything under `prefix`, the export included in a server. */
function nginxConf(prefix: string, port: number, include: string): string {
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(prefix, d), { recursive: true });
  return file(
    `nginx-${port}.conf`,
    `pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    include ${include};
  }
}
`,
  );
}

function nginxTest(conf: string, prefix: string): { status: number | null; output: string } {
  const r = spawnSync(NGINX, ['-t', '-p', prefix, '-e', join(prefix, 'error.log'), '-c', conf], {
    encoding: 'utf8',
  });
  return { status: r.status, output: r.stdout + r.stderr };
}

function haproxyCheck(...files: string[]): { status: number | null; output: string } {
  const r = spawnSync(HAPROXY, ['-c', ...files.flatMap((f) => ['-f', f])], { encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

const HAPROXY_DEFAULTS = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:65000
    default_backend checkout_cart
`;

let main: Started;
let guarded: Started;

before(async () => {
  main = await startBroker();
  guarded = await startBroker({ readToken: 'read-token-0123456789abcdef' });
});

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await killAll();
  await main.broker.app.close();
  await guarded.broker.app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('jit export: one run per format against a real broker', () => {
  it('json (no mapping): every endpoint with the value the broker serves', async () => {
    const r = await runJit(['export', '--broker', main.url, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      endpoints: { name: string; servedMs: number | null; status: string; route: unknown }[];
    };
    const now = await served(main.url);
    assert.deepEqual(
      doc.endpoints.map((e) => e.name),
      Object.keys(STORED),
    );
    for (const e of doc.endpoints) {
      assert.equal(e.servedMs, STORED[e.name] === null ? null : now[e.name], e.name);
      assert.equal(e.route, null);
    }
  });

  it('gateway-api: HTTPRoutes valid under the Gateway API schema, only the mapped rules changed', async () => {
    const r = await runJit([
      'export',
      '--broker',
      main.url,
      '--format',
      'gateway-api',
      '--mapping',
      mappingFile,
      '--base',
      `${baseFile},${vsFile}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, unknown>);
    assert.equal(docs.length, 1);
    for (const d of docs) new HTTPRoute(d as never).validate();
    const rules = (docs[0] as { spec: { rules: { timeouts?: Record<string, string> }[] } }).spec
      .rules;
    const now = await served(main.url);
    const cart = now['checkout GET /api/cart/{id}'] ?? 0;
    assert.deepEqual(rules[0]?.timeouts, { request: `${cart}ms`, backendRequest: `${cart}ms` });
    assert.deepEqual(rules[2], HTTP_ROUTES.items[0]?.spec.rules[2]);
  });

  it('istio: VirtualServices valid under the Istio schema', async () => {
    const r = await runJit([
      'export',
      '--broker',
      main.url,
      '--format',
      'istio',
      '--mapping',
      mappingFile,
      '--base',
      vsFile,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, unknown>);
    for (const d of docs) new VirtualService(d).validate();
    const http = (docs[0] as { spec: { http: { timeout?: string }[] } }).spec.http;
    const cart = (await served(main.url))['checkout GET /api/cart/{id}'] ?? 0;
    assert.equal(http[0]?.timeout, `${cart / 1000}s`);
  });

  it('envoy: a RouteConfiguration (YAML) with the served timeouts', async () => {
    const r = await runJit([
      'export',
      '--broker',
      main.url,
      '--format',
      'envoy',
      '--mapping',
      mappingFile,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const config = parse(r.stdout) as {
      virtual_hosts: { routes: { name: string; route: { timeout?: string } }[] }[];
    };
    const cart = (await served(main.url))['checkout GET /api/cart/{id}'] ?? 0;
    const route = config.virtual_hosts
      .flatMap((v) => v.routes)
      .find((x) => x.name === 'checkout GET /api/cart/{id}');
    assert.equal(route?.route.timeout, `${cart / 1000}s`);
  });

  it('nginx: `nginx -t` accepts the output, hostile endpoint names included', async (t) => {
    if (!requireProgram(t, NGINX, 'nginx')) return;
    const hostile = Object.keys(STORED).filter((n) => /pwned/.test(n));
    const mapping = {
      endpoints: {
        ...MAPPING.endpoints,
        ...Object.fromEntries(
          hostile.map((n, i) => [
            n,
            {
              nginx: { location: `/h${i}/`, proxyPass: 'http://127.0.0.1:9' },
              haproxy: { backend: `h${i}`, servers: ['127.0.0.1:9'] },
            },
          ]),
        ),
      },
    };
    const mfile = file('mapping-hostile.json', JSON.stringify(mapping));
    const out = join(dir, 'locations.conf');
    const r = await runJit([
      'export',
      '--broker',
      main.url,
      '--format',
      'nginx',
      '--mapping',
      mfile,
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(out, 'utf8');
    assert.equal((text.match(/^location /gm) ?? []).length, 3 + hostile.length);
    assert.doesNotMatch(text.replace(/^\s*#.*$/gm, ''), /pwned/);
    const prefix = join(dir, 'nginx-t');
    const check = nginxTest(nginxConf(prefix, await freePort(), out), prefix);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, /syntax is ok/);
    // And the check is real: a broken include fails it.
    const broken = file('broken.conf', `${text}\nlocation /x { proxy_read_timeout 1.5s; }\n`);
    assert.notEqual(nginxTest(nginxConf(prefix, await freePort(), broken), prefix).status, 0);
  });

  it('haproxy: `haproxy -c` accepts the output, hostile endpoint names included', async (t) => {
    if (!requireProgram(t, HAPROXY, 'haproxy')) return;
    const hostile = Object.keys(STORED).filter((n) => /pwned/.test(n));
    const mapping = {
      endpoints: {
        ...MAPPING.endpoints,
        ...Object.fromEntries(
          hostile.map((n, i) => [n, { haproxy: { backend: `h${i}`, servers: ['127.0.0.1:9'] } }]),
        ),
      },
    };
    const mfile = file('mapping-hostile-haproxy.json', JSON.stringify(mapping));
    const out = join(dir, 'backends.cfg');
    const r = await runJit([
      'export',
      '--broker',
      main.url,
      '--format',
      'haproxy',
      '--mapping',
      mfile,
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(out, 'utf8');
    assert.equal((text.match(/^backend /gm) ?? []).length, 3 + hostile.length);
    const defaults = file('haproxy.cfg', HAPROXY_DEFAULTS);
    const check = haproxyCheck(defaults, out);
    assert.equal(check.status, 0, check.output);
    const broken = file('broken.cfg', `${text}\nbackend y\n    timeout server 1.5.s\n`);
    assert.notEqual(haproxyCheck(defaults, broken).status, 0);
  });

  it('the renderers’ output for every hostile name of the unit tests passes nginx -t and haproxy -c too', async (t) => {
    if (!requireProgram(t, NGINX, 'nginx') || !requireProgram(t, HAPROXY, 'haproxy')) return;
    const values = HOSTILE_NAMES.map((endpoint, i) => ({
      endpoint,
      servedMs: 100 + i,
      status: 'fresh' as const,
    }));
    const mapping = parseMapping({
      endpoints: Object.fromEntries(
        HOSTILE_NAMES.map((n, i) => [
          n,
          {
            nginx: { location: `/h${i}`, proxyPass: 'http://127.0.0.1:9' },
            haproxy: { backend: `h${i}`, servers: ['127.0.0.1:9'] },
          },
        ]),
      ),
    });
    const nginxOut = file(
      'hostile-nginx.conf',
      renderExport('nginx', { values, mapping, base: [] }),
    );
    const prefix = join(dir, 'nginx-h');
    const n = nginxTest(nginxConf(prefix, await freePort(), nginxOut), prefix);
    assert.equal(n.status, 0, n.output);
    const h = haproxyCheck(
      file('haproxy2.cfg', HAPROXY_DEFAULTS.replace('checkout_cart', 'h0')),
      file('hostile.cfg', renderExport('haproxy', { values, mapping, base: [] })),
    );
    assert.equal(h.status, 0, h.output);
  });
});

describe('nginx with the exported configuration cuts a slow upstream at the exported timeout', () => {
  const UPSTREAM_DELAY_MS = 1500;
  let upstream: Server;
  let nginx: ChildProcess | undefined;
  let nginxPort = 0;
  const aborted: string[] = [];

  before(async () => {
    upstream = createServer((req, res) => {
      const timer = setTimeout(() => res.end('slow answer\n'), UPSTREAM_DELAY_MS);
      res.on('close', () => {
        clearTimeout(timer);
        if (!res.writableFinished) aborted.push(req.url ?? '');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGTERM');
      await exited;
    }
    await new Promise((resolve) => upstream.close(resolve));
  });

  function get(path: string): Promise<{ status: number; ms: number }> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: nginxPort, path, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', reject);
      req.end();
    });
  }

  it('504 after ≈ the served value for a short one; the slow answer for a long one', async (t) => {
    if (!requireProgram(t, NGINX, 'nginx')) return;
    const { port: up } = upstream.address() as AddressInfo;
    const mfile = file(
      'mapping-live.json',
      JSON.stringify({
        endpoints: {
          cut: { nginx: { location: '/cut/', proxyPass: `http://127.0.0.1:${up}` } },
          wait: { nginx: { location: '/wait/', proxyPass: `http://127.0.0.1:${up}` } },
        },
      }),
    );
    const out = join(dir, 'live-locations.conf');
    const r = await runJit([
      'export',
      '--broker',
      main.url,
      '--format',
      'nginx',
      '--mapping',
      mfile,
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const now = await served(main.url);
    const cutMs = now.cut ?? 0;
    assert.ok(
      cutMs > 200 && cutMs < 600 && (now.wait ?? 0) > UPSTREAM_DELAY_MS + 500,
      JSON.stringify(now),
    );
    assert.match(readFileSync(out, 'utf8'), new RegExp(`proxy_read_timeout ${cutMs}ms;`));

    const prefix = join(dir, 'nginx-live');
    nginxPort = await freePort();
    const conf = nginxConf(prefix, nginxPort, out);
    nginx = spawn(
      NGINX,
      ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', conf, '-g', 'daemon off;'],
      { stdio: 'ignore' },
    );
    children.add(nginx);
    await waitFor(
      async () => {
        // Any answer: nginx listens (its workers, nobody when run as root, may not read the temp dir).
        return (await get('/nothing-here')).status > 0;
      },
      10_000,
      {
        message: `nginx listening (exit ${String(nginx.exitCode)}): ${existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8') : ''}`,
      },
    );

    const cut = await get('/cut/x');
    assert.equal(cut.status, 504);
    // Cut at the exported timeout (timer slack and a loaded machine allowed), long before the answer.
    assert.ok(cut.ms >= cutMs - 15, `cut after ${cut.ms.toFixed(0)} ms, timeout ${cutMs} ms`);
    assert.ok(
      cut.ms < UPSTREAM_DELAY_MS - 300,
      `cut after ${cut.ms.toFixed(0)} ms, not before the slow answer`,
    );
    await waitFor(() => aborted.includes('/cut/x'), 2000, {
      message: 'the upstream request aborted',
    });

    const ok = await get('/wait/x');
    assert.equal(ok.status, 200);
    assert.ok(ok.ms >= UPSTREAM_DELAY_MS - 15, `answered after ${ok.ms.toFixed(0)} ms`);
    console.log(
      `# nginx cut /cut/ after ${cut.ms.toFixed(0)} ms (exported ${cutMs} ms); /wait/ answered after ${ok.ms.toFixed(0)} ms`,
    );
  });
});

describe('jit export: errors', () => {
  it('broker unreachable: exit 1 with one line naming the URL and the reason', async () => {
    const port = await freePort();
    const r = await runJit(['export', '--broker', `http://127.0.0.1:${port}`, '--format', 'json']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^jit export: cannot read http://127\\.0\\.0\\.1:${port}/v1/endpoints: ECONNREFUSED\\n$`,
      ),
    );
  });

  it('a broker with a read token: 401 named without it, the values with --read-token-file', async () => {
    const without = await runJit(['export', '--broker', guarded.url, '--format', 'json']);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /401: the broker asks for its read token/);
    const tokenFile = file('read-token', 'read-token-0123456789abcdef\n');
    const r = await runJit(['export', '--broker', guarded.url, '--format', 'json'], {
      env: { JIT_READ_TOKEN_FILE: tokenFile },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { endpoints: unknown[] }).endpoints.length,
      Object.keys(STORED).length,
    );
  });

  it('bad options and mappings: exit 2, every problem named, nothing written', async () => {
    const bad = file(
      'bad-mapping.json',
      JSON.stringify({
        endpoints: { cut: { nginx: { location: '/x; return 200', proxyPass: 'http://a' } } },
      }),
    );
    const out = join(dir, 'never-written.conf');
    const r = await runJit([
      'export',
      '--broker',
      main.url,
      '--format',
      'nginx',
      '--mapping',
      bad,
      '--out',
      out,
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"cut"\."nginx"\."location": not a safe location path/);
    assert.equal(existsSync(out), false);
    const w = await runJit(['export', '--broker', main.url, '--format', 'nginx', '--watch']);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /--watch needs --out FILE/);
    const f = await runJit(['export', '--broker', main.url, '--format', 'yaml']);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /--format \(format\)/);
    const g = await runJit([
      'export',
      '--broker',
      main.url,
      '--format',
      'gateway-api',
      '--mapping',
      mappingFile,
    ]);
    assert.equal(g.code, 2);
    assert.match(g.stderr, /HTTPRoute shop\/shop is not in --base/);
  });
});

describe('jit export --watch against a broker whose values change', () => {
  it('rewrites the file (and runs --on-change) for a change past --min-change, not for a small one', async () => {
    const name = 'checkout GET /api/cart/{id}';
    main.store.recordSuccess(name, 1000, info(1000), new Date());
    const out = join(dir, 'watched.conf');
    const counter = join(dir, 'reloads.txt');
    const proc = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/jit.js'),
        'export',
        '--broker',
        main.url,
        '--format',
        'nginx',
        '--mapping',
        mappingFile,
        '--out',
        out,
        '--watch',
        '--interval-ms',
        '150',
        '--min-change',
        '0.2',
        '--on-change',
        `echo reload >> '${counter}'`,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(proc);
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      proc.once('exit', (code) => resolve(code)),
    );
    const reloads = () =>
      existsSync(counter) ? readFileSync(counter, 'utf8').trim().split('\n').length : 0;
    const timeoutOf = () =>
      Number(
        /location \/api\/cart\/ \{\n.*\n {4}proxy_read_timeout (\d+)ms;/.exec(
          existsSync(out) ? readFileSync(out, 'utf8') : '',
        )?.[1],
      );

    await waitFor(() => reloads() === 1, 15_000, { message: `the first write\n${stderr}` });
    const first = (await served(main.url))[name] ?? 0;
    assert.equal(timeoutOf(), first);
    const firstText = readFileSync(out, 'utf8');

    // +5 %: polled several times, never written.
    main.store.recordSuccess(name, 1050, info(1050), new Date());
    const small = (await served(main.url))[name] ?? 0;
    assert.ok(small > first && (small - first) / first < 0.2);
    const polls = stderr.length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(readFileSync(out, 'utf8'), firstText);
    assert.equal(reloads(), 1);
    assert.equal(stderr.length, polls, 'nothing logged for a small change');

    // +60 %: written once, with the new value, and the reload command runs once.
    main.store.recordSuccess(name, 1600, info(1600), new Date());
    const big = (await served(main.url))[name] ?? 0;
    await waitFor(() => timeoutOf() === big, 10_000, {
      message: `the rewrite to ${big}\n${stderr}`,
    });
    await waitFor(() => reloads() === 2, 5000, { message: 'the reload' });
    assert.match(
      stderr,
      new RegExp(
        `wrote .*watched\\.conf \\("checkout GET /api/cart/\\{id\\}" ${first} → ${big} ms\\)`,
      ),
    );

    proc.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal(reloads(), 2);
  });
});
