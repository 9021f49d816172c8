import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launch, outputDir } from '../helpers/browser.js';
import { type Child, freePort, startDemo } from '../helpers/process.js';

// `npm start` then Chromium on http://localhost:<port>/: the React example page.
let browser: Browser;
let demo: Child;
let port: number;

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.warn('page error:', err.message));
  await page.goto(`http://localhost:${port}/`);
  await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 30_000 }).toBe('connected');
  return page;
}

async function say(page: Page, text: string) {
  await page.getByLabel('Message').fill(text);
  await page.getByLabel('Message').press('Enter');
}

const messages = (page: Page) => page.getByTestId('messages').textContent();

describe.skipIf(!hasChromium)('demo page in Chromium', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    port = await freePort();
    demo = startDemo(port);
    await demo.waitFor(/listening/);
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it('shows the chat, connected, and looks right at desktop and phone width', async () => {
    const page = await openPage();
    await expect
      .poll(() => page.getByTestId('latency').textContent(), { timeout: 40_000 })
      .toMatch(/latency (–|\d+ ms)/);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(outputDir, 'demo-desktop.png') });
    await page.setViewportSize({ width: 375, height: 740 });
    await page.screenshot({ path: join(outputDir, 'demo-phone.png') });
    // nothing wider than the phone screen
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.close();
  });

  it('two pages chat with each other; text is shown as text', async () => {
    const a = await openPage();
    const b = await openPage();
    await say(a, 'hello from A <img src=x onerror=alert(1)>');
    await expect.poll(() => messages(b)).toContain('hello from A <img src=x onerror=alert(1)>');
    expect(await b.locator('.messages img').count()).toBe(0);
    await say(b, 'hi A, B here');
    await expect.poll(() => messages(a)).toContain('hi A, B here');
    await a.close();
    await b.close();
  });

  it('shows reconnecting when the server goes away and delivers what was typed offline once it is back', async () => {
    const page = await openPage();
    await demo.stop();
    await expect
      .poll(() => page.getByTestId('state').textContent(), { timeout: 10_000 })
      .toMatch(/reconnecting|connecting/);
    await say(page, 'typed while offline');
    await expect.poll(() => page.getByTestId('queued').textContent()).toBe('1 queued');
    await page.screenshot({ path: join(outputDir, 'demo-offline.png') });
    demo = startDemo(port);
    await demo.waitFor(/listening/);
    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 20_000 }).toBe('connected');
    await expect.poll(() => messages(page), { timeout: 10_000 }).toContain('typed while offline');
    await expect.poll(() => page.getByTestId('queued').textContent()).toBe('0 queued');
    await page.close();
  });

  it('a burst meets the rate limit and the page says so in words', async () => {
    const page = await openPage();
    // 20 lines submitted in one go inside the page, as a stuck Enter key would (typing them one
    // by one through the browser can be slower than the limit refills on a busy machine).
    await page.evaluate(() => {
      const input = document.querySelector('input[aria-label="Message"]') as HTMLInputElement;
      const form = input.form as HTMLFormElement;
      const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set;
      for (let i = 0; i < 20; i++) {
        setValue?.call(input, `burst ${i}`);
        input.dispatchEvent(new Event('input', { bubbles: true }));
        form.requestSubmit();
      }
    });
    const problem = () =>
      page
        .getByTestId('problem')
        .textContent({ timeout: 500 })
        .catch(() => null);
    await expect.poll(problem, { timeout: 15_000 }).toMatch(/sending messages too fast/);
    await page.screenshot({ path: join(outputDir, 'demo-rate-limited.png') });
    await page.close();
  });
});
