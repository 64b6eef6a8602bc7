// The analyst console in headless Chromium against the real `fds serve` that
// tests/browser/run starts (BASE_URL), on its own Postgres database. Every page a test
// visits is screenshotted into ARTIFACTS and must log no console error (a CSP
// violation is one).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL;
const ARTIFACTS = process.env.ARTIFACTS;
let browser;

before(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
});

/** A fresh browser context whose page records console errors. */
async function open() {
  const context = await browser.newContext({ locale: "ko-KR" });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return { context, page, errors };
}

async function shot(page, name) {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

async function login(page, login, password) {
  await page.goto(`${BASE}/console/login`);
  await page.fill("#login", login);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

/** RFC 6238 code of a base32 secret at `unixSeconds`. */
function totp(secretBase32, unixSeconds) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretBase32.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const hash = createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const offset = hash[hash.length - 1] & 0x0f;
  const code = (hash.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, "0");
}

/** Reloads `page` until `selector` shows (the store writes decisions in batches). */
async function reloadUntil(page, selector, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.locator(selector).count()) return;
    if (Date.now() > deadline) throw new Error(`${selector} did not appear on ${page.url()}`);
    await page.waitForTimeout(250);
    await page.reload();
  }
}

test("an admin enrols TOTP at the first login, then reaches the audit log", async () => {
  const { context, page, errors } = await open();
  await login(page, "admin", process.env.ADMIN_PASSWORD);
  assert.equal(new URL(page.url()).pathname, "/console/enrol");
  const uri = await page.textContent("#otpauth-uri");
  assert.match(uri, /^otpauth:\/\/totp\/FDS:admin\?secret=[A-Z2-7]+/);
  await shot(page, "01-totp-enrolment");

  const secret = (await page.textContent("#totp-secret")).trim();
  const right = totp(secret, Date.now() / 1000);
  await page.fill("#code", right === "000000" ? "111111" : "000000");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal(new URL(page.url()).pathname, "/console/enrol", "a wrong code is refused");
  assert.ok(await page.locator("#totp-message").count());

  await page.fill("#code", totp(secret, Date.now() / 1000));
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal(new URL(page.url()).pathname, "/console/dashboard");
  await shot(page, "02-dashboard-admin");

  await page.goto(`${BASE}/console/audit`);
  await page.click("#verify-chain");
  await page.waitForSelector("#audit-verdict");
  assert.match(await page.textContent("#audit-verdict"), /해시 체인이 온전합니다/);
  assert.ok(await page.locator("text=user.totp").count(), "the enrolment is audited");
  await shot(page, "03-audit-log");
  await page.goto(`${BASE}/console/admin/users`);
  for (const login of ["admin", "analyst", "viewer"]) {
    assert.ok(await page.locator(`#user-${login}`).count(), `${login} is listed`);
  }
  await shot(page, "03b-users");

  // An API key made here is shown once and is the one the API accepts, in its scope.
  await page.goto(`${BASE}/console/admin/api-keys`);
  await page.fill("#create-api-key input[name=name]", "결제 게이트웨이");
  await page.check("#create-api-key input[value=blocks]");
  await Promise.all([page.waitForNavigation(), page.click("#create-api-key button")]);
  const key = (await page.textContent("#new-api-key .mono")).trim();
  assert.match(key, /^fds_[0-9a-f]{64}$/);
  await shot(page, "03c-api-key-made");
  const allowed = await page.request.get(`${BASE}/v1/blocks/01012345678`, { headers: { Authorization: `Bearer ${key}` } });
  assert.notEqual(allowed.status(), 401, "the API accepts the console's key");
  const scoped = await page.request.post(`${BASE}/v1/score`, { headers: { Authorization: `Bearer ${key}` }, data: {} });
  assert.equal(scoped.status(), 401, "but only in its scope");
  await page.goto(`${BASE}/console/admin/settings`);
  assert.ok(await page.locator("#settings td", { hasText: "store.url" }).count());
  assert.equal(await page.locator("#settings td", { hasText: "browser-test-key" }).count(), 0, "secrets hidden");
  await shot(page, "03d-settings");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a viewer sees the queue and a case but is refused an analyst's action", async () => {
  const { context, page, errors } = await open();
  await login(page, "viewer", process.env.VIEWER_PASSWORD);
  assert.equal(await page.getAttribute("html", "lang"), "en", "the viewer reads English");
  await page.goto(`${BASE}/console/queue`);
  await reloadUntil(page, "a[href='/console/cases/pay-review-2']");
  await shot(page, "04-queue-viewer");
  await page.click("a[href='/console/cases/pay-review-2']");
  assert.equal(await page.locator("#confirm-fraud").count(), 0, "no action buttons");
  assert.equal(await page.locator("#reveal").count(), 0, "no reveal either");
  assert.equal(await page.textContent("#case-subscriber"), "010-****-5432");

  // Forging the analyst's form with the viewer's own valid CSRF token is still refused.
  const csrf = await page.getAttribute("input[name=csrf]", "value");
  const answer = await page.request.post(`${BASE}/console/cases/pay-review-2/outcome`, {
    form: { csrf, outcome: "fraud" },
    maxRedirects: 0,
  });
  assert.equal(answer.status(), 403);
  await shot(page, "05-case-viewer");
  assert.deepEqual(errors, []);
  await context.close();
});

test("an analyst reveals a number, sees markup as text and confirms a case", async () => {
  const { context, page, errors } = await open();
  await login(page, "analyst", process.env.ANALYST_PASSWORD);
  await page.goto(`${BASE}/console/queue`);
  await reloadUntil(page, "a[href='/console/cases/pay-review-1']");
  await page.click("a[href='/console/cases/pay-review-1']");

  // The event's `note` holds a script tag: it shows as text, and never runs.
  assert.ok(await page.locator("#event-fields td", { hasText: "<script>alert(1)</script>" }).count());
  assert.equal(await page.locator("script:not([src])").count(), 0);
  assert.equal(await page.textContent("#case-subscriber"), "010-****-5678");
  await Promise.all([page.waitForNavigation(), page.click("#reveal")]);
  assert.equal(await page.textContent("#case-subscriber"), "01012345678");
  await shot(page, "06-case-analyst-revealed");

  await page.fill("#confirm-fraud input[name=reason]", "가입자가 결제를 부인함");
  await Promise.all([page.waitForNavigation(), page.click("#confirm-fraud button")]);
  assert.equal(new URL(page.url()).pathname, "/console/queue");
  assert.equal(await page.locator("a[href='/console/cases/pay-review-1']").count(), 0, "the case left the queue");
  await shot(page, "07-queue-after-confirm");
  assert.deepEqual(errors, []);
  await context.close();
});

test("an analyst goes from a case to the subscriber's timeline and adds a note", async () => {
  const { context, page, errors } = await open();
  await login(page, "analyst", process.env.ANALYST_PASSWORD);
  await page.goto(`${BASE}/console/cases/pay-review-1`);
  await Promise.all([page.waitForNavigation(), page.click("#subscriber-page")]);
  assert.match(new URL(page.url()).pathname, /^\/console\/subscribers\/v1\./);
  assert.ok(!page.url().includes("12345678"), "the number is in no URL");
  assert.equal(await page.textContent("#subscriber"), "010-****-5678");
  // The label of the case confirmed in the test before is on the timeline.
  assert.ok(await page.locator("#subscriber-timeline tr.timeline-label", { hasText: "가입자가 결제를 부인함" }).count());
  await page.fill("#add-note textarea", "고객센터 통화: 010-2222-3333 번호로 결제 문의 <b>굵게</b>");
  await Promise.all([page.waitForNavigation(), page.click("#add-note button")]);
  const note = page.locator("#subscriber-timeline tr.timeline-note");
  assert.equal(await note.count(), 1);
  assert.match(await note.textContent(), /<b>굵게<\/b>/, "markup in a note shows as text");
  assert.match(await note.textContent(), /analyst/);
  await shot(page, "07b-subscriber-timeline");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the language switch turns every page English and back, and blocks list", async () => {
  const { context, page, errors } = await open();
  await login(page, "analyst", process.env.ANALYST_PASSWORD);
  assert.equal(await page.getAttribute("html", "lang"), "ko");
  assert.ok(await page.locator("nav >> text=대시보드").count());
  await Promise.all([page.waitForNavigation(), page.click("#language-switch button")]);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.ok(await page.locator("nav >> text=Dashboard").count());
  await shot(page, "08-dashboard-english");

  await page.goto(`${BASE}/console/blocks`);
  await reloadUntil(page, "#blocks");
  assert.ok(await page.locator("#blocks td", { hasText: "010-****-5432" }).count());
  await shot(page, "09-blocks");
  const csv = await page.request.get(`${BASE}${await page.getAttribute("#blocks-csv", "href")}`);
  assert.equal(csv.headers()["content-type"], "text/csv; charset=utf-8");
  assert.match(await csv.text(), /^block_id,subscriber,/);
  for (const [path, name] of [["/console/rules", "11-rules"], ["/console/models", "12-models"], ["/console/subscribers", "13-subscriber"]]) {
    await page.goto(`${BASE}${path}`);
    await shot(page, name);
  }
  await page.fill("input[name=number]", "010-9876-5432");
  await Promise.all([page.waitForNavigation(), page.click("#subscriber-search button")]);
  assert.equal(await page.textContent("#subscriber"), "010-****-5432");
  assert.ok(await page.locator("#subscriber-timeline a[href='/console/cases/pay-block-1']").count());
  assert.ok(!page.url().includes("9876"), "the number is in no URL");
  await shot(page, "14-subscriber-found");
  await page.goto(`${BASE}/console/blocks`);
  await Promise.all([page.waitForNavigation(), page.click("#language-switch button")]);
  assert.equal(await page.getAttribute("html", "lang"), "ko");
  assert.equal(new URL(page.url()).pathname, "/console/blocks", "back where the switch was pressed");
  assert.deepEqual(errors, []);
  await context.close();
});

/** Enrols the second factor of an account at its first login (it lands on /console/enrol). */
async function enrol(page) {
  assert.equal(new URL(page.url()).pathname, "/console/enrol");
  const secret = (await page.textContent("#totp-secret")).trim();
  await page.fill("#code", totp(secret, Date.now() / 1000));
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal(new URL(page.url()).pathname, "/console/dashboard");
}

test("a builder's draft is checked, backtested and published by a publisher", async () => {
  const builder = await open();
  let page = builder.page;
  page.on("dialog", (dialog) => dialog.accept());
  await login(page, "builder", process.env.BUILDER_PASSWORD);
  await page.goto(`${BASE}/console/rules`);
  await Promise.all([page.waitForNavigation(), page.click("#rule-cba_big_gift_card a")]);
  const body = await page.inputValue("#draft-body");
  assert.match(body, /e\.amount > 300000/);
  await page.fill("#draft-body", body.replace("e.amount > 300000", "e.amount >"));
  await Promise.all([page.waitForNavigation(), page.click("#check-draft")]);
  assert.ok(await page.locator("#check-result.bad").count(), "a syntax error fails the check");
  await page.fill("#draft-body", body.replace("300000", "100000"));
  await Promise.all([page.waitForNavigation(), page.click("#check-draft")]);
  assert.ok(await page.locator("#check-result.ok").count(), "the fixed rule passes every fixture");
  await shot(page, "15-draft-editor-checked");
  await page.fill("#draft-title", "상품권 기준 금액 인하");
  await Promise.all([page.waitForNavigation(), page.click("#save-draft")]);
  const draftUrl = page.url();
  assert.match(new URL(draftUrl).pathname, /^\/console\/rules\/drafts\/\d+$/);
  assert.equal(await page.textContent("#draft-author"), "builder");
  assert.equal(await page.locator("#publish-form").count(), 0, "a builder cannot publish");
  assert.ok(await page.locator("pre.diff", { hasText: "100000" }).count());
  await shot(page, "16-draft");
  await Promise.all([page.waitForNavigation(), page.click("#backtest-form button")]);
  assert.match(new URL(page.url()).pathname, /^\/console\/rules\/backtests\/\d+$/);
  await reloadUntil(page, "#backtest-state[data-state='done']", 30_000);
  assert.ok(await page.locator("#transitions").count(), "the result table");
  await shot(page, "17-backtest");
  assert.deepEqual(builder.errors, []);
  await builder.context.close();

  const publisher = await open();
  page = publisher.page;
  page.on("dialog", (dialog) => dialog.accept());
  await login(page, "publisher", process.env.PUBLISHER_PASSWORD);
  await enrol(page);
  await page.goto(draftUrl);
  assert.equal(await page.locator("#publish-blocked").count(), 0);
  await Promise.all([page.waitForNavigation(), page.click("#publish")]);
  assert.match(await page.textContent("#draft-message.ok"), /v2-/);
  await shot(page, "18-draft-published");
  await page.goto(`${BASE}/console/rules`);
  assert.match(await page.textContent("#live-version"), /^v2-/);
  await page.goto(`${BASE}/console/rules/versions/2`);
  assert.ok(await page.locator("pre.diff", { hasText: "100000" }).count());
  await shot(page, "19-version-diff");
  await page.goto(`${BASE}/console/rules/suppressions`);
  await shot(page, "20-suppressions");
  await page.goto(`${BASE}/console/models`);
  await shot(page, "21-models-publisher");
  assert.deepEqual(publisher.errors, []);
  await publisher.context.close();
});

test("a high-severity release needs a second analyst's approval", async () => {
  const first = await open();
  let page = first.page;
  page.on("dialog", (dialog) => dialog.accept());
  await login(page, "analyst", process.env.ANALYST_PASSWORD);
  await page.goto(`${BASE}/console/blocks?status=active`);
  await reloadUntil(page, "#blocks td:has-text('010-****-6666')");
  const line = page.locator("#blocks tr", { hasText: "010-****-6666" }).filter({ has: page.locator("strong.action-block") });
  assert.equal(await line.count(), 1, "the whole-line block is marked high severity");
  await line.locator("select[name=code]").selectOption("customer_verified");
  await line.locator("input[name=allow_days]").fill("3");
  await Promise.all([page.waitForNavigation(), line.locator("button[type=submit]").click()]);
  assert.ok(await page.locator("#release-requested").count(), "the release waits for a second analyst");
  assert.ok(await page.locator("#release-requests tr", { hasText: "010-****-6666" }).count());
  assert.equal(await page.locator("#release-requests form[action$='/approve']").count(), 0, "not offered to the asker");
  await shot(page, "22-release-requested");
  assert.deepEqual(first.errors, []);
  await first.context.close();

  const second = await open();
  page = second.page;
  page.on("dialog", (dialog) => dialog.accept());
  await login(page, "analyst2", process.env.ANALYST2_PASSWORD);
  await page.goto(`${BASE}/console/blocks`);
  const request = page.locator("#release-requests tr", { hasText: "010-****-6666" });
  await request.locator("form[action$='/approve'] input[name=note]").fill("고객 통화로 본인 확인");
  await Promise.all([page.waitForNavigation(), request.locator("form[action$='/approve'] button").click()]);
  assert.equal(new URL(page.url()).searchParams.get("status"), "released");
  const released = page.locator("#blocks tr", { hasText: "010-****-6666" }).filter({ hasText: "approved by analyst2" });
  assert.equal(await released.count(), 1, "released in the asker's name, approved by the second analyst");
  await shot(page, "23-release-approved");
  await page.goto(`${BASE}/console/dashboard`);
  assert.ok(await page.locator("#model-drift").count(), "the dashboard has the drift tile");
  assert.deepEqual(second.errors, []);
  await second.context.close();
});

test("logging out ends the session: the dashboard asks for a login again", async () => {
  const { context, page, errors } = await open();
  await login(page, "viewer", process.env.VIEWER_PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/console/logout'] button")]);
  await page.goto(`${BASE}/console/dashboard`);
  assert.equal(new URL(page.url()).pathname, "/console/login");
  await shot(page, "10-login");
  assert.deepEqual(errors, []);
  await context.close();
});
