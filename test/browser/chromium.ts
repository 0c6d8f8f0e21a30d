// Finds the Debian chromium for browser tests; missing, the tests skip loudly (fail with CI=true).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const DEFAULT_PATH = '/usr/bin/chromium';

const MISSING_MESSAGE =
  `chromium not installed (looked for $JIT_CHROMIUM_PATH, ${DEFAULT_PATH} and chromium on PATH); ` +
  'install it, e.g. `apt-get install -y chromium chromium-driver`';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function chromiumPath(): string | undefined {
  const candidates = [
    process.env.JIT_CHROMIUM_PATH,
    DEFAULT_PATH,
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'chromium')),
  ];
  return candidates.find((p): p is string => !!p && executable(p));
}

/**
 * For `describe(name, { skip: chromiumSkip() }, …)`: false when chromium is installed or when
 * CI=true (the suite then runs and fails at launch: a silent skip in CI would hide the gap),
 * otherwise the reason, announced on stderr.
 */
export function chromiumSkip(): string | false {
  if (chromiumPath() !== undefined || process.env.CI === 'true') return false;
  const reason = `SKIPPED: ${MISSING_MESSAGE}`;
  console.warn(`\n*** ${reason} ***\n`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  const path = chromiumPath();
  if (!path) throw new Error(`CI=true and ${MISSING_MESSAGE}`);
  return chromium.launch({
    executablePath: path,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
