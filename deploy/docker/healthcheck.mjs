// Docker HEALTHCHECK of the jit image: exit 0 when this container's broker or worker answers
// GET /healthz on 127.0.0.1 with {"status":"ok"}. Port: JIT_HEALTH_PORT when set (that one only);
// otherwise any of --port of PID 1, JIT_BROKER_PORT, JIT_WORKER_PORT, JIT_DEMO_PORT, 5000, 7000
// (one jit process runs per container, so the first that answers is it).
/* global fetch, AbortSignal */
import { readFileSync } from 'node:fs';

/** `--port N` / `--port=N` of the container's main process (Linux /proc), if readable. */
function portOfPid1() {
  try {
    const args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '--port') return args[i + 1];
      if (args[i]?.startsWith('--port=')) return args[i].slice('--port='.length);
    }
  } catch {
    // not Linux, or /proc hidden: fall back on the environment
  }
  return undefined;
}

const env = process.env;
const ports = (
  env.JIT_HEALTH_PORT
    ? [env.JIT_HEALTH_PORT]
    : [portOfPid1(), env.JIT_BROKER_PORT, env.JIT_WORKER_PORT, env.JIT_DEMO_PORT, '5000', '7000']
).filter((p, i, all) => p && /^\d+$/.test(p) && p !== '0' && all.indexOf(p) === i);

async function healthy(port) {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
    signal: AbortSignal.timeout(3000),
  });
  if (!res.ok) throw new Error(`port ${port}: HTTP ${res.status}`);
  const body = await res.json();
  if (body?.status !== 'ok') throw new Error(`port ${port}: ${JSON.stringify(body)}`);
  return port;
}

try {
  const port = await Promise.any(ports.map(healthy));
  process.stdout.write(`healthy on port ${port}\n`);
  process.exit(0);
} catch (err) {
  const reasons = err instanceof AggregateError ? err.errors : [err];
  process.stderr.write(`unhealthy: ${reasons.map((e) => e?.message ?? String(e)).join('; ')}\n`);
  process.exit(1);
}
