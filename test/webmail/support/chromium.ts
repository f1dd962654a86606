/**
 * Headless Chromium for browser tests: the Debian package's binary, driven by playwright-core
 * (which never downloads a browser). Suites that need it use {@link describeWithChromium}, the
 * same rule as `describeWithDovecot`: a loud skip on a machine without Chromium, a failure
 * under `CI=true`.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { describe, it } from 'vitest';

/** Where Debian's `chromium` package puts the browser (a launcher script). */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** True when the Chromium binary is there. */
export const chromiumInstalled: boolean = existsSync(CHROMIUM_PATH);

const MISSING = `Chromium is not installed (no ${CHROMIUM_PATH}). Install it with: apt-get install -y chromium`;

/**
 * `describe()` for suites that need headless Chromium: a loud skip without it, and a failing
 * test under `CI=true` so CI never goes green by skipping the browser tests.
 *
 * @example
 * ```ts
 * describeWithChromium('webmail', () => { it('shows the page', async () => { … }); });
 * ```
 */
export function describeWithChromium(name: string, fn: () => void): void {
  if (chromiumInstalled) {
    describe(name, fn);
  } else if (process.env['CI'] === 'true') {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(`${MISSING} — CI must run the browser tests.`);
      });
    });
  } else {
    console.warn(`\n⚠️  SKIPPING "${name}": ${MISSING}\n`);
    describe.skip(name, fn);
  }
}

/**
 * Launches headless Chromium. playwright-core gives every launch a fresh temporary profile
 * (user-data dir) and deletes it on close, so no state leaks between runs. The flags keep the
 * browser off the network except for the pages the test opens.
 *
 * @example
 * ```ts
 * const browser = await launchChromium();
 * const page = await (await browser.newContext()).newPage();
 * await browser.close();
 * ```
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}
