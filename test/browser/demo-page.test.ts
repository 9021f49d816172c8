import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launch, outputDir } from '../helpers/browser.js';
import { type Child, freePort, startDemo } from '../helpers/process.js';

// `npm start` then Chromium on http://localhost:<port>/: the React example page.
let browser: Browser;
let demo: Child;
let port: number;

async function openPage(user?: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.warn('page error:', err.message));
  await page.goto(`http://localhost:${port}/${user ? `?user=${user}` : ''}`);
  await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 30_000 }).toBe('connected');
  // subscribed to #general and to the user's own inbox: nothing said from now on is missed
  for (const id of ['messages', 'dms']) {
    await expect
      .poll(() => page.getByTestId(id).getAttribute('data-state'), { timeout: 10_000 })
      .toBe('subscribed');
  }
  return page;
}

async function say(page: Page, text: string) {
  await page.getByLabel('Message').fill(text);
  await page.getByLabel('Message').press('Enter');
}

const messages = (page: Page) => page.getByTestId('messages').textContent();
const text = (page: Page, id: string) =>
  page
    .getByTestId(id)
    .textContent({ timeout: 500 })
    .catch(() => null);

/** Knows who it is (openPage already waited for the subscriptions). */
async function inGeneral(page: Page) {
  await expect.poll(() => text(page, 'me')).toMatch(/^you are /);
}

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

  it('a burst is paced to the announced limit, the page says so in words, and every line arrives', async () => {
    const page = await openPage();
    // 20 lines submitted in one go inside the page, as a stuck Enter key would: more than the
    // chat type's burst (10). The client paces itself by auth_ok.limits instead of being refused.
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
    const paced = () =>
      page
        .getByTestId('paced')
        .textContent({ timeout: 500 })
        .catch(() => null);
    await expect.poll(paced, { timeout: 15_000 }).toBe('sending slower: server limit');
    await page.screenshot({ path: join(outputDir, 'demo-paced.png') });
    await expect
      .poll(() => page.getByTestId('messages').textContent(), { timeout: 20_000 })
      .toContain('burst 19');
    // Nothing was refused: no "too fast" problem shown.
    expect(await page.getByTestId('problem').count()).toBe(0);
    await page.close();
  });

  it("rooms: two users in #general see each other's messages and typing; a guest cannot open #staff", async () => {
    const alice = await openPage('alice');
    const bob = await openPage('bob');
    await inGeneral(alice);
    await inGeneral(bob);
    await expect.poll(() => text(alice, 'me')).toBe('you are alice');
    // the server acks bob's subscription before alice speaks: a line from bob proves it both ways
    await say(bob, 'bob is here');
    await expect.poll(() => messages(alice)).toContain('bob is here');
    await alice.getByLabel('Message').pressSequentially('hel');
    await expect.poll(() => text(bob, 'typing'), { timeout: 10_000 }).toBe('alice is typing…');
    await alice.getByLabel('Message').fill('hello bob');
    await alice.getByLabel('Message').press('Enter');
    await expect.poll(() => messages(bob)).toContain('hello bob');
    // #random is another room: what is said there stays there
    await bob.getByTestId('room-random').click();
    await expect.poll(() => messages(bob)).not.toContain('hello bob');
    await say(bob, 'only in random');
    await expect.poll(() => messages(bob)).toContain('only in random');
    expect(await messages(alice)).not.toContain('only in random');

    const guest = await openPage();
    await inGeneral(guest);
    await guest.getByTestId('room-staff').click();
    await expect
      .poll(() => text(guest, 'room-problem'), { timeout: 10_000 })
      .toBe('You are not allowed in #staff.');
    await expect.poll(() => text(guest, 'room-staff')).toContain('(not allowed)');
    await guest.screenshot({ path: join(outputDir, 'demo-staff-refused.png') });
    // the socket is still fine: back in #general the guest chats on
    await guest.getByTestId('room-general').click();
    await say(guest, 'guest still here');
    await expect.poll(() => messages(alice)).toContain('guest still here');
    for (const p of [alice, bob, guest]) await p.close();
  });

  it('who is here; a page taken offline sees every message sent meanwhile after it is back, in order, once', async () => {
    const alice = await openPage('alice');
    const bob = await openPage('bob');
    await inGeneral(alice);
    await inGeneral(bob);
    await expect.poll(() => text(alice, 'presence'), { timeout: 10_000 }).toMatch(/bob/);
    expect(await text(alice, 'presence')).toMatch(/alice/);
    await say(bob, 'before the tunnel');
    await expect.poll(() => messages(alice)).toContain('before the tunnel');
    await alice.context().setOffline(true);
    await expect.poll(() => text(alice, 'state'), { timeout: 30_000 }).not.toBe('connected');
    const sent = Array.from({ length: 5 }, (_, i) => `missed line ${i}`);
    for (const line of sent) {
      await say(bob, line);
      await expect.poll(() => messages(bob)).toContain(line);
    }
    await alice.context().setOffline(false);
    await expect.poll(() => text(alice, 'state'), { timeout: 30_000 }).toBe('connected');
    await expect.poll(() => messages(alice), { timeout: 15_000 }).toContain(sent[4]);
    const shown = (await messages(alice)) ?? '';
    const at = sent.map((line) => shown.indexOf(line));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((x, y) => x - y)).toEqual(at);
    for (const line of sent) expect(shown.split(line).length - 1).toBe(1);
    expect(await text(alice, 'reloaded')).toBeNull();
    await say(bob, 'after the tunnel');
    await expect.poll(() => messages(alice)).toContain('after the tunnel');
    await alice.screenshot({ path: join(outputDir, 'demo-recovered.png') });
    for (const p of [alice, bob]) await p.close();
  });

  it('a DM by user id reaches only its target', async () => {
    const alice = await openPage('alice');
    const bob = await openPage('bob');
    const carol = await openPage('carol');
    for (const p of [alice, bob, carol]) await inGeneral(p);
    // each inbox is subscribed once "No direct messages." shows and the socket round-trips
    await alice.getByLabel('DM recipient').fill('bob');
    await alice.getByLabel('DM text').fill('psst bob');
    await alice.getByLabel('DM text').press('Enter');
    await expect.poll(() => text(bob, 'dms'), { timeout: 10_000 }).toContain('psst bob');
    expect(await text(bob, 'dms')).toContain('alice');
    // carol and alice never see it; a message to carol proves carol's inbox works
    await bob.getByLabel('DM recipient').fill('carol');
    await bob.getByLabel('DM text').fill('hi carol');
    await bob.getByLabel('DM text').press('Enter');
    await expect.poll(() => text(carol, 'dms'), { timeout: 10_000 }).toContain('hi carol');
    expect(await text(carol, 'dms')).not.toContain('psst bob');
    expect(await text(alice, 'dms')).not.toContain('psst bob');
    expect(await messages(carol)).not.toContain('psst bob');
    await bob.screenshot({ path: join(outputDir, 'demo-dm.png') });
    for (const p of [alice, bob, carol]) await p.close();
  });
  it('survives malformed events (a time Date cannot show, a null payload) and keeps working', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    // A man in the middle on the page's own socket: everything passes, and we add hostile frames.
    const taps: { send(message: string): void }[] = [];
    await page.routeWebSocket(/\/ws$/, (ws) => {
      ws.connectToServer();
      taps.push(ws);
    });
    await page.goto(`http://localhost:${port}/?user=mallory-target`);
    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 30_000 }).toBe('connected');
    for (const id of ['messages', 'dms']) {
      await expect
        .poll(() => page.getByTestId(id).getAttribute('data-state'), { timeout: 10_000 })
        .toBe('subscribed');
    }
    const hostile = [
      {
        channel: 'room:general',
        event: 'chat',
        payload: { from: 'mallory', text: 'bad time', at: 8.64e15 + 1 },
      },
      { channel: 'room:general', event: 'chat', payload: null },
      { channel: 'room:general', event: 'chat', payload: { from: 'mallory', text: 7, at: 'soon' } },
      { channel: 'room:general', event: 'typing', payload: null },
      { channel: 'user:mallory-target', event: 'dm', payload: null },
      { channel: 'user:mallory-target', event: 'dm', payload: { from: 'mallory', text: 'x', at: -1e20 } },
    ];
    const tap = taps.at(-1);
    for (const h of hostile) tap?.send(JSON.stringify({ type: 'publication', ...h }));
    tap?.send(JSON.stringify({ type: 'chat', payload: null }));
    // Still there and still working: a line said now shows, none of the hostile ones do.
    await say(page, 'still standing');
    await expect.poll(() => messages(page), { timeout: 10_000 }).toContain('still standing');
    expect(await messages(page)).not.toContain('bad time');
    expect(await page.getByTestId('state').textContent()).toBe('connected');
    expect(await page.getByTestId('render-problem').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
