// Opens the GraphiQL playground in Debian's Chromium (headless), runs a
// query, and prints the response panel's text and any request that tried to
// leave the server. Saves a screenshot.
// With TOKEN, fills it into the headers editor, which the page opens with
// an Authorization header to complete when the server wants a token.
// Usage: node playground.mjs http://HOST:PORT/graphql SCREENSHOT.png [TOKEN]
import { chromium } from "playwright-core";

const [url, screenshot, token] = process.argv.slice(2);
const origin = new URL(url).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const external = [];
  // Anything not served by contacts-api itself is refused: the page must not need it.
  await page.route("**/*", (route) => {
    const target = route.request().url();
    if (target.startsWith(origin)) return route.continue();
    external.push(target);
    return route.abort();
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  const editor = ".graphiql-query-editor .CodeMirror";
  await page.waitForSelector(editor, { timeout: 30_000 });
  await page.evaluate(
    ([selector, query]) => document.querySelector(selector).CodeMirror.setValue(query),
    [editor, "{ contacts(first: 1) { totalCount } }"],
  );
  if (token) {
    const headers = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
    const prefilled = await page.evaluate((s) => document.querySelector(s)?.CodeMirror.getValue() ?? "", headers);
    if (!prefilled.includes("Authorization")) throw new Error(`headers editor not prefilled: ${prefilled}`);
    await page.evaluate(
      ([selector, value]) => document.querySelector(selector).CodeMirror.setValue(value),
      [headers, JSON.stringify({ Authorization: `Bearer ${token}` })],
    );
  }
  // GraphiQL re-reads the document (its operations, the one to run) a
  // moment after an edit; clicking sooner runs the example's operation name.
  await page.waitForTimeout(600);
  await page.click(".graphiql-execute-button");
  const response = ".graphiql-response .CodeMirror";
  try {
    await page.waitForFunction(
      (selector) => document.querySelector(selector)?.CodeMirror.getValue().includes("totalCount"),
      response,
      { timeout: 30_000 },
    );
  } catch (e) {
    const shown = await page.evaluate((s) => document.querySelector(s)?.CodeMirror.getValue(), response);
    throw new Error(`no result in the response panel: ${shown}; page errors: ${errors}`);
  }
  const result = await page.evaluate((s) => document.querySelector(s).CodeMirror.getValue(), response);
  await page.screenshot({ path: screenshot });
  console.log(JSON.stringify({ result: JSON.parse(result), external, errors }));
} finally {
  await browser.close();
}
