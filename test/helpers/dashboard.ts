import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { z } from 'zod';

/** The admin token of the dashboard browser tests (>= 32 bytes). */
export const DASHBOARD_TOKEN = 'admin-token-admin-token-admin-token-0123456789';

/**
 * Server options of the dashboard browser tests: an echo type, rooms anyone may join, and this
 * host as a trusted proxy.
 */
export const dashboardServerOptions = {
  messages: { echo: z.unknown() },
  handlers: { echo: (_ctx: unknown, p: unknown) => p },
  channels: { 'room:{name}': { authorize: () => true } },
  trustProxy: ['127.0.0.1'],
};

/** Signs in through the login form, as an operator would, and waits for the live feed. */
export async function openDashboard(browser: Browser, port: number): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.warn('page error:', err.message));
  page.on('dialog', (d) => void d.accept());
  const first = await page.goto(`http://127.0.0.1:${port}/admin`);
  expect(first?.status()).toBe(401);
  await page.getByLabel('Admin token').fill(DASHBOARD_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect
    .poll(() => page.locator('#status').getAttribute('data-state'), { timeout: 15_000 })
    .toBe('live');
  return page;
}

/** The text of the first element matching `sel`. */
export const textOf = (page: Page, sel: string) => page.locator(sel).textContent();

/** Connect options that make a socket come from `ip` through the trusted proxy. */
export const fromIp = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
