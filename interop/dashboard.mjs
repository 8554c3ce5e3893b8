// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core.
//
//   node dashboard.mjs <node url> <screenshot.png> [--min-neurons N] [--wait-payments]
//
// Opens the node's dashboard, measures the first render, waits for the head to advance over
// the event stream, checks the metagraph table and the epoch charts against the REST API,
// sorts a column, checks a narrow window does not scroll sideways, and saves a screenshot.
// Prints one JSON line of what it saw; exits non-zero (with the reason on stderr) otherwise.
// The browser is $CHROMIUM, else /usr/bin/chromium.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [url, screenshot, ...rest] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node dashboard.mjs <node url> <screenshot.png> [--min-neurons N] [--wait-payments]');
  process.exit(2);
}
const minNeurons = rest.includes('--min-neurons') ? Number(rest[rest.indexOf('--min-neurons') + 1]) : 1;
const waitPayments = rest.includes('--wait-payments');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`no chromium at ${executablePath}: install it (Debian: apt-get install -y chromium) or set CHROMIUM`);
  process.exit(3);
}

const check = (ok, what) => {
  if (!ok) throw new Error(`check failed: ${what}`);
};

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // Root in CI containers has no user namespaces for the sandbox.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.setDefaultTimeout(30_000);

  // First render with data, from the start of navigation (the page records it): a cold load
  // (a new browser, its first page) and a warm one.
  const load = async () => {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('body[data-ready="true"]');
    return Number(await page.getAttribute('body', 'data-first-render-ms'));
  };
  out.coldRenderMs = await load();
  out.firstRenderMs = await load();

  // Live: the head advances without a reload, and the stream says so.
  await page.waitForSelector('#live[data-state="live"]');
  const height = async () => Number((await page.textContent('#height')).replace(/[#,]/g, ''));
  out.height0 = await height();
  check(out.height0 > 0, `a head height (${out.height0})`);
  await page.waitForFunction(
    (h0) => Number(document.querySelector('#height').textContent.replace(/[#,]/g, '')) > h0 + 2,
    out.height0);
  out.height1 = await height();
  // The block chart starts from the API's history, not only from the stream.
  out.blocksShown = Number(await page.textContent('#blocks-n'));
  check(out.blocksShown >= Math.min(50, out.height0), `the last blocks in the chart (${out.blocksShown})`);
  out.rate = await page.textContent('#rate');
  // New transactions arrive in the table from the stream (the test keeps submitting).
  const topTx = () => page.$eval('#txs tr:first-child td:first-child',
    (td) => Number(td.textContent.replace(/[#,]/g, '')) || 0);
  out.firstTx = await topTx();
  await page.waitForFunction(
    (t) => Number(document.querySelector('#txs tr:first-child td:first-child').textContent.replace(/[#,]/g, '')) > t,
    out.firstTx);
  out.liveTx = await topTx();
  check(/blocks\/s/.test(out.rate), `a block rate (${out.rate})`);

  // Subnet 1: the metagraph table matches the API, the charts have series.
  const sn = 'section.subnet[data-netuid="1"]';
  await page.waitForFunction(({ sn, min }) =>
    document.querySelectorAll(`${sn} table.metagraph tbody tr[data-uid]`).length >= min,
  { sn, min: minNeurons });
  await page.waitForSelector(`${sn} svg.epoch-chart[data-kind="incentive"] path.series`);
  await page.waitForSelector(`${sn} svg.epoch-chart[data-kind="dividends"] path.series`);
  const api = await (await fetch(`${url}/v1/subnets/1/metagraph`)).json();
  const rows = await page.$$eval(`${sn} table.metagraph tbody tr[data-uid]`, (trs) =>
    trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  out.neurons = rows.length;
  check(rows.length === api.neurons.length, `one row per neuron (${rows.length} vs ${api.neurons.length})`);
  const headers = await page.$$eval(`${sn} table.metagraph thead th`, (ths) => ths.map((th) => th.textContent));
  out.columns = headers;
  for (const c of ['uid', 'stake (α)', 'trust', 'consensus', 'incentive', 'dividends', 'emission (α/epoch)']) {
    check(headers.includes(c), `a "${c}" column`);
  }
  const incCol = headers.indexOf('incentive');
  const earning = rows.filter((r) => r[incCol] !== '0.00 %').length;
  out.earning = earning;
  check(earning > 0, 'some neuron has incentive');
  out.incentiveSeries = await page.$$eval(
    `${sn} svg.epoch-chart[data-kind="incentive"] path.series`, (ps) => ps.length);
  out.dividendSeries = await page.$$eval(
    `${sn} svg.epoch-chart[data-kind="dividends"] path.series`, (ps) => ps.length);
  out.price = await page.textContent(`${sn} .facts`);
  check(/SYM\/α/.test(out.price), 'the pool price with its unit');

  // Sorting: incentive, descending on the first click.
  await page.click(`${sn} table.metagraph th[data-key="incentive"]`);
  await page.waitForSelector(`${sn} table.metagraph th[data-key="incentive"][aria-sort="descending"]`);
  const sorted = await page.$$eval(`${sn} table.metagraph tbody tr[data-uid]`, (trs, i) =>
    trs.map((tr) => parseFloat(tr.children[i].textContent)), incCol);
  check(sorted.every((v, i) => i === 0 || sorted[i - 1] >= v), `sorted by incentive (${sorted})`);

  if (waitPayments) {
    await page.waitForSelector('#payments tr td.num');
    out.payments = await page.textContent('#pay-count');
    out.paymentLatency = await page.textContent('#pay-latency');
  }
  out.txRows = await page.$$eval('#txs tr', (trs) => trs.length);
  out.agents = (await page.textContent('#agents p')).trim().split('.')[0];

  // A narrow window (a phone): nothing scrolls sideways except inside the tables' boxes.
  await page.setViewportSize({ width: 380, height: 800 });
  await page.waitForTimeout(200);
  out.narrowOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(out.narrowOverflow <= 1, `no sideways scroll at 380 px (${out.narrowOverflow} px too wide)`);

  await page.setViewportSize({ width: 1280, height: 900 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: screenshot, fullPage: true });
  out.screenshot = screenshot;

  const host = new URL(url).host;
  const outside = requests.filter((r) => !r.startsWith('data:') && new URL(r).host !== host);
  check(outside.length === 0, `no requests outside the node (${outside})`);
  check(errors.length === 0, `no errors in the page (${errors.join('; ')})`);
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`${e.message}\nso far: ${JSON.stringify(out)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
