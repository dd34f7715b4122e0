// What the browser tests share: Debian's Chromium (headless), and a
// playground page that may not leave the server (anything not served by
// contacts-api itself is refused and recorded) with its page errors and
// editors at hand.
import { chromium } from 'playwright-core';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

/** Opens the playground at `url` on the document `query` (given in the
 * URL, so GraphiQL reads it as it starts, with no edit to wait for);
 * `external` and `errors` fill as it runs. */
export async function openPlayground(browser, url, query) {
  const origin = new URL(url).origin;
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const external = [];
  await page.route('**/*', (route) => {
    const target = route.request().url();
    if (target.startsWith(origin)) return route.continue();
    external.push(target);
    return route.abort();
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${url}?query=${encodeURIComponent(query)}`);
  await page.waitForSelector(QUERY_EDITOR, { timeout: 30_000 });
  return { page, external, errors };
}

export const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
export const HEADERS_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
export const RESPONSE = '.graphiql-response .CodeMirror';

/** Replaces the text of the CodeMirror editor at `selector`. */
export function setEditor(page, selector, text) {
  return page.evaluate(([s, value]) => document.querySelector(s).CodeMirror.setValue(value), [selector, text]);
}

/** The text of the CodeMirror editor at `selector` ('' if absent). */
export function editorText(page, selector) {
  return page.evaluate((s) => document.querySelector(s)?.CodeMirror.getValue() ?? '', selector);
}
