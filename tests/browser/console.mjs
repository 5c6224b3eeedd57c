// The console as a person uses it, in Debian's headless chromium (run by tests/test_console.py).
// Env: BASE_URL (the live gateway), API_KEY (a fresh tenant's key), SLOW_CIRCUIT (a program that
// runs for seconds), CHROMIUM (its path), ARTEFACTS (where screenshots go), RECEIVER_URL and
// RECEIVER_DIR (a webhook receiver that verifies signatures with the secrets in its config.json).
// Every request the page makes is intercepted: one for another host fails the run (and is
// aborted), and so does the key appearing in any URL.
import assert from 'node:assert/strict';
import {mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {chromium} from 'playwright-core';
import {lowContrastTexts, unlabelledControls} from './a11y.mjs';

const {BASE_URL, API_KEY, SLOW_CIRCUIT, CHROMIUM = '/usr/bin/chromium', ARTEFACTS, RECEIVER_URL,
  RECEIVER_DIR} = process.env;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const offsite = [];
const urls = [];
const pageErrors = [];
const started = Date.now();

function step(name) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${name}`);
}

/** A screenshot of the view, once its controls are labelled and its texts readable. */
async function shot(page, name) {
  assert.deepEqual(await unlabelledControls(page), [], `controls without a label (${name})`);
  assert.deepEqual(await lowContrastTexts(page), [], `texts below WCAG AA contrast (${name})`);
  await page.screenshot({path: join(ARTEFACTS, `${name}.png`), fullPage: true});
}

/** Like pasting: the whole text at once (typing 40 kB of OpenQASM with fill() takes 10 s). */
async function paste(locator, text) {
  await locator.focus();
  await locator.evaluate((node, value) => {
    node.value = value;
    node.dispatchEvent(new Event('input', {bubbles: true}));
  }, text);
}

async function submitForm(page, {example, circuit, backend, shots}) {
  await page.getByRole('link', {name: 'Submit a job'}).click();
  await page.getByLabel('Backend').locator('option[value="aer_simulator"]').waitFor({state: 'attached'});
  if (example) await page.getByLabel('Start from an example').selectOption(example);
  if (circuit !== undefined) await paste(page.getByLabel('Circuit', {exact: true}), circuit);
  if (backend) await page.getByLabel('Backend').selectOption(backend);
  if (shots) await page.getByLabel('Shots').fill(String(shots));
  await page.getByRole('button', {name: 'Submit', exact: true}).click();
}

/** Press Tab until the focus is on the button named `name` (it must be reachable that way). */
async function tabTo(page, name) {
  for (let presses = 0; presses < 40; presses += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement.textContent.trim());
    if (focused === name) return;
  }
  assert.fail(`Tab never reached "${name}"`);
}

async function waitForStatus(page, status, timeout = 60000) {
  await page.locator('#job-status').getByText(status, {exact: true}).waitFor({timeout});
}

async function theKey(page) {
  step('open /console, a wrong key is refused plainly, the right one is accepted');
  await page.goto(`${BASE_URL}/console`);
  await page.getByText('Enter your API key above').waitFor();
  await page.getByLabel('API key').fill('not-a-key');
  await page.getByLabel('API key').press('Enter');
  await page.getByText('The gateway refused this API key').waitFor();
  await page.getByLabel('API key').fill(API_KEY);
  await page.getByLabel('API key').press('Enter');
  await page.getByText('Key accepted').waitFor();
  await page.getByText('No jobs match').waitFor();
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('quantum-gateway.api-key')), API_KEY);
}

async function bell(page) {
  step('submit Bell on aer_simulator, watch it reach DONE, read the histogram');
  await submitForm(page, {example: 'bell', backend: 'aer_simulator', shots: 1000});
  await page.waitForURL(/#\/jobs\/[^/]+$/);
  await waitForStatus(page, 'DONE');
  const bars = page.getByRole('img', {name: /^[01]{2}: \d+$/});
  await bars.first().waitFor();
  const names = await bars.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('aria-label')));
  const counts = Object.fromEntries(names.map((name) => name.split(': ')).map(([b, c]) => [b, +c]));
  assert.deepEqual(Object.keys(counts).sort(), ['00', '11'], `an ideal Bell pair: ${names}`);
  assert.equal(counts['00'] + counts['11'], 1000);
  assert.ok(counts['00'] > 400 && counts['11'] > 400, JSON.stringify(counts));
  await page.getByRole('log').getByText('INFO').first().waitFor();
  step('the job page lists the webhook notifications sent about it');
  const done = page.locator('#job-notifications tr', {hasText: 'job.done'});
  for (let tries = 0; !(await done.filter({hasText: 'delivered'}).count()); tries += 1) {
    assert.ok(tries < 30, 'the job.done notification was not delivered');
    await page.getByRole('button', {name: 'Refresh notifications'}).click();
    await page.waitForTimeout(500);
  }
  await shot(page, 'job-bell');
  const id = page.url().split('/').pop();
  await actions(page, id);
  return id;
}

async function webhooks(page) {
  step('add a webhook endpoint: a private address is refused at its field; the secret is shown once');
  await page.getByRole('link', {name: 'Webhooks'}).click();
  await page.getByText('No endpoints yet.').waitFor();
  await page.getByLabel('Endpoint URL').fill('http://10.0.0.1/hook');
  await page.getByRole('button', {name: 'Add endpoint'}).click();
  await page.locator('#webhook-url-error').getByText('a private address').waitFor();
  await page.getByLabel('Endpoint URL').fill(RECEIVER_URL);
  await page.getByLabel('job.queued').check();
  await page.getByRole('button', {name: 'Add endpoint'}).click();
  const secret = await page.getByLabel('Signing secret').inputValue();
  assert.match(secret, /^whsec_/);
  const config = {[new URL(RECEIVER_URL).pathname]: {secret, script: []}};
  writeFileSync(join(RECEIVER_DIR, 'config.json'), JSON.stringify(config));
  step('send a test event: its attempt is listed, delivered and verified by the receiver');
  await page.getByRole('button', {name: /^Send a test event/}).click();
  await page.locator('article.endpoint').getByText('delivered').first().waitFor({timeout: 15000});
  await shot(page, 'webhooks');
  await page.getByRole('link', {name: 'Jobs'}).click();
  await page.getByRole('link', {name: 'Webhooks'}).click();
  await page.locator('article.endpoint').first().waitFor();
  assert.equal(await page.getByText(secret).count(), 0, 'the secret is shown only once');
  assert.equal(await page.getByLabel('Signing secret').count(), 0);
}

async function actions(page, id) {
  step('download the result JSON, edit the tags, show the request as curl');
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', {name: 'Download result JSON'}).click()]);
  assert.equal(download.suggestedFilename(), `job-${id}-result.json`);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(Object.values(saved.pub_results[0].data.c.counts[0]).reduce((a, b) => a + b), 1000);
  await page.getByLabel('Tags').fill('bell, demo');
  await page.getByRole('button', {name: 'Save tags'}).click();
  await page.getByText('Saved: bell, demo.').waitFor();
  await page.getByRole('button', {name: 'Show as curl'}).click();
  const curl = await page.getByLabel('The same requests with curl').inputValue();
  assert.match(curl, /Authorization: Bearer \$GATEWAY_KEY/);
  assert.match(curl, /"backend":"aer_simulator"/);
  assert.ok(!curl.includes(API_KEY), 'the key is not in the curl command');
}

/** A small job submitted by another client (not the browser): its id. */
async function submitByApi(tag) {
  const response = await fetch(`${BASE_URL}/v1/jobs`, {method: 'POST',
    headers: {Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json'},
    body: JSON.stringify({program_id: 'sampler', backend: 'aer_simulator', tags: [tag],
      pubs: [{circuit: 'OPENQASM 3.0; qubit[1] q; bit[1] c; c[0] = measure q[0];'}]})});
  assert.equal(response.status, 202);
  return (await response.json()).id;
}

async function liveList(page) {
  step('the job list is live: a job submitted elsewhere appears and finishes without a reload');
  await page.getByRole('link', {name: 'Jobs', exact: true}).click();
  await page.getByRole('link', {name: /^Job /}).first().waitFor();
  const id = await submitByApi('outside');
  const row = page.locator(`tr[data-job="${id}"]`);
  await row.getByText('DONE').waitFor({timeout: 30000});
  await row.getByText('outside').waitFor();
}

async function cancelLongJob(page) {
  step('a long job is cancelled from its page');
  await submitForm(page, {circuit: SLOW_CIRCUIT, backend: 'aer_simulator', shots: 10});
  await page.waitForURL(/#\/jobs\/[^/]+$/);
  await waitForStatus(page, 'RUNNING');
  await shot(page, 'job-running');
  await page.getByRole('button', {name: 'Cancel job'}).click();
  await waitForStatus(page, 'CANCELLED', 15000);
  assert.ok(await page.getByRole('button', {name: 'Cancel job'}).isDisabled());
}

async function filters(page) {
  step('filters: status CANCELLED shows the cancelled job only');
  await page.getByRole('link', {name: 'Jobs', exact: true}).click();
  await page.getByLabel('Status').selectOption('CANCELLED');
  await page.getByRole('button', {name: 'Apply filters'}).click();
  await waitForRows(page, 'Page 1', 1);
  const statuses = await page.locator('#job-list tbody .status-cell').allTextContents();
  assert.deepEqual(statuses, ['CANCELLED']);
}

async function deleteJob(page) {
  step('delete a job from its page');
  const id = await submitByApi('to-delete');
  await page.evaluate((hash) => { location.hash = hash; }, `#/jobs/${id}`);
  await waitForStatus(page, 'DONE');
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', {name: 'Delete job'}).click();
  await page.waitForURL(/#\/jobs$/);
  await page.getByRole('link', {name: /^Job /}).first().waitFor();
  assert.equal(await page.locator(`tr[data-job="${id}"]`).count(), 0);
  const gone = await fetch(`${BASE_URL}/v1/jobs/${id}`, {headers: {Authorization: `Bearer ${API_KEY}`}});
  assert.equal(gone.status, 404);
}

async function parseError(page) {
  step('a program that does not parse: the message, with line and column, at the Circuit field');
  const broken = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0;\n';
  await submitForm(page, {circuit: broken, backend: 'aer_simulator'});
  const message = page.locator('#circuit-error');
  await message.getByText(/line 4, column \d+/).waitFor();
  const circuit = page.getByLabel('Circuit', {exact: true});
  assert.equal(await circuit.getAttribute('aria-invalid'), 'true');
  assert.ok(await circuit.evaluate((node) => node === document.activeElement), 'focus on Circuit');
  assert.match(await circuit.evaluate((node) => node.getAttribute('aria-describedby')), /circuit-error/);
  await shot(page, 'submit-parse-error');
}

async function sweepAndEstimator(page) {
  step('a sweep, submitted from the keyboard, is plotted against its parameter');
  await page.getByRole('link', {name: 'Submit a job'}).click();
  await page.getByLabel('Start from an example').selectOption('sweep');
  await tabTo(page, 'Submit');
  await page.keyboard.press('Enter');
  await waitForStatus(page, 'DONE');
  await page.getByRole('img', {name: /^P\(0\) from 1\.00 to 0\.0\d$/}).waitFor();
  await shot(page, 'job-sweep');
  step('an estimator shows expectation values with error bars');
  await submitForm(page, {example: 'estimator'}); // on fake_manila: noisy, so the bars have width
  await waitForStatus(page, 'DONE');
  const marks = page.getByRole('img', {name: /^(ZZ|XX|YY|ZI): -?\d\.\d{3} ± \d\.\d{3}$/});
  await marks.first().waitFor();
  const values = Object.fromEntries((await marks.evaluateAll((nodes) => nodes.map(
    (n) => n.getAttribute('aria-label')))).map((name) => name.split(': '))
    .map(([observable, text]) => [observable, text.split(' ± ').map(Number)]));
  assert.deepEqual(Object.keys(values), ['ZZ', 'XX', 'YY', 'ZI']);
  assert.ok(values.ZZ[0] > 0.7 && values.XX[0] > 0.7 && values.YY[0] < -0.7, JSON.stringify(values));
  assert.ok(Math.abs(values.ZI[0]) < 0.2 && values.ZZ[1] > 0, JSON.stringify(values));
  await shot(page, 'job-estimator');
}

async function mitigation(page) {
  step('mitigation on the ideal simulator is refused at its field, with the reason');
  await page.getByRole('link', {name: 'Submit a job'}).click();
  await page.getByLabel('Backend').locator('option[value="aer_simulator"]').waitFor({state: 'attached'});
  await page.getByLabel('Start from an example').selectOption('bell');
  await page.getByLabel('Backend').selectOption('aer_simulator');
  assert.ok(await page.getByLabel('Resilience level').isDisabled(), 'the sampler takes no level');
  await page.getByLabel('Dynamical decoupling').check();
  await page.getByRole('button', {name: 'Submit', exact: true}).click();
  await page.locator('#dd-enable-error').getByText(/ideal simulator has no noise/).waitFor();
  step('an estimator at resilience level 2 with 8 randomizations: the job page says so');
  await page.getByLabel('Dynamical decoupling').uncheck();
  await page.getByLabel('Start from an example').selectOption('estimator');
  await page.getByLabel('Resilience level').selectOption('2');
  await page.getByLabel('Randomizations').fill('8');
  await page.getByRole('button', {name: 'Submit', exact: true}).click();
  await page.waitForURL(/#\/jobs\/[^/]+$/);
  const shown = page.locator('#job-mitigation');
  await shown.getByText('resilience_level').first().waitFor();
  await shown.getByText('{"num_randomizations":8}').first().waitFor();
  await waitForStatus(page, 'DONE');
  await shown.getByText(/Reported by the run|reports no mitigation metadata/).waitFor();
  await shot(page, 'job-mitigation');
}

/** Wait until the list has loaded `count` rows on the page called `pageName`. */
async function waitForRows(page, pageName, count) {
  await page.waitForFunction(([name, n]) => {
    const list = document.querySelector('#job-list[aria-busy="false"]');
    return list && list.querySelectorAll('tbody tr').length === n
      && document.querySelector('.pager span')?.textContent === name;
  }, [pageName, count]);
}

async function paging(page) {
  step('paging: 5 per page, older and newer');
  for (const tag of ['page-a', 'page-b']) await submitByApi(tag);
  await page.getByRole('link', {name: 'Jobs', exact: true}).click();
  await page.getByRole('link', {name: /^Job /}).nth(5).waitFor();
  await shot(page, 'jobs');
  await page.getByLabel('Per page').selectOption('5');
  await page.getByRole('button', {name: 'Apply filters'}).click();
  await waitForRows(page, 'Page 1', 5);
  const first = await page.locator('#job-list tbody tr').first().getAttribute('data-job');
  await page.getByRole('button', {name: 'Older jobs'}).click();
  // 8 jobs: Bell, outside, cancelled, sweep, estimator, mitigated, a, b
  await waitForRows(page, 'Page 2', 3);
  assert.ok(await page.getByRole('button', {name: 'Older jobs'}).isDisabled());
  await page.getByRole('button', {name: 'Newer jobs'}).click();
  await waitForRows(page, 'Page 1', 5);
  assert.equal(await page.locator('#job-list tbody tr').first().getAttribute('data-job'), first);
}

async function narrow(page) {
  step('narrow screen: the list fits 390 px');
  await page.getByRole('link', {name: 'Jobs', exact: true}).click();
  await page.getByRole('link', {name: /^Job /}).first().waitFor();
  await page.setViewportSize({width: 390, height: 844});
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
  await shot(page, 'jobs-narrow');
}

/** A session (and a job in it) made by another client: the session's id and the job's. */
async function sessionByApi(mode) {
  const headers = {Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json'};
  const made = await fetch(`${BASE_URL}/v1/sessions`, {method: 'POST', headers,
    body: JSON.stringify({backend: 'aer_simulator', mode})});
  assert.equal(made.status, 201);
  const {id} = await made.json();
  const job = await fetch(`${BASE_URL}/v1/jobs`, {method: 'POST', headers,
    body: JSON.stringify({program_id: 'sampler', backend: 'aer_simulator', session_id: id,
      pubs: [{circuit: 'OPENQASM 3.0; qubit[1] q; bit[1] c; c[0] = measure q[0];'}]})});
  assert.equal(job.status, 202);
  return [id, (await job.json()).id];
}

async function sessions(page) {
  step('a job page names its session; the session is listed with its jobs and closed');
  const [id, jobId] = await sessionByApi('batch');
  await page.evaluate((hash) => { location.hash = hash; }, `#/jobs/${jobId}`);
  await waitForStatus(page, 'DONE');
  await page.locator('#job-session').click();
  await page.waitForURL(/#\/sessions\/[^/]+$/);
  await page.locator('#session-facts').getByText('1 DONE').waitFor();
  await shot(page, 'session');
  await page.getByRole('button', {name: /^Close the session/}).click();
  await page.locator('#session-facts').getByText('closed', {exact: true}).waitFor();
  step('the sessions page lists them; one is cancelled there');
  const [other] = await sessionByApi('dedicated');
  await page.getByRole('link', {name: 'Sessions', exact: true}).click();
  const row = page.locator(`tr[data-session="${other}"]`);
  await row.waitFor();
  assert.equal(await page.locator(`tr[data-session="${id}"] .state-cell`).textContent(), 'closed');
  await shot(page, 'sessions');
  page.once('dialog', (dialog) => dialog.accept());
  await row.getByRole('button', {name: /^Cancel the session/}).click();
  await row.locator('.state-cell').getByText('closed').waitFor();
}

async function main() {
  mkdirSync(ARTEFACTS, {recursive: true});
  const profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: {width: 1100, height: 800}});
  try {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).hostname !== '127.0.0.1') { offsite.push(url); return route.abort(); }
      return route.continue();
    });
    context.on('request', (request) => urls.push(request.url()));
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageErrors.push(message.text());
      }
    });
    await theKey(page);
    await webhooks(page);
    await bell(page);
    await liveList(page);
    await cancelLongJob(page);
    await filters(page);
    await deleteJob(page);
    await parseError(page);
    await sweepAndEstimator(page);
    await mitigation(page);
    await page.getByRole('link', {name: 'Submit a job'}).click();
    await page.getByLabel('Circuit', {exact: true}).fill('');
    await page.getByLabel('Start from an example').selectOption('bell');
    await shot(page, 'submit');
    await paging(page);
    await narrow(page);
    await sessions(page);
    step('forget the key: it leaves the tab');
    await page.getByRole('button', {name: 'Forget key'}).click();
    await page.getByText('Enter your API key above').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  } catch (error) {
    const page = context.pages()[0];
    if (page) await shot(page, 'failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
    rmSync(profile, {recursive: true, force: true});
  }
  step(`${urls.length} requests, all to 127.0.0.1`);
  assert.deepEqual(offsite, [], 'requests left the gateway');
  assert.deepEqual(urls.filter((url) => url.includes(API_KEY)), [], 'the key appeared in a URL');
  assert.ok(urls.some((url) => url.includes('/events?token=')), 'event streams used tokens');
  assert.deepEqual(pageErrors, [], 'errors in the page (script errors, CSP violations)');
  step('all passed');
}

await main();
