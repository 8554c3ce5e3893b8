// The Symbiont dashboard: reads the node's REST API, follows /v1/events, draws with SVG.
// Plain JavaScript, no dependencies; served from the node's binary.
'use strict';

const NATIVE = '0x0000000000000000000000000000000000000000';
const U16 = 65535;
const BLOCKS_SHOWN = 60;
const EPOCHS_SHOWN = 32;
const TXS_SHOWN = 12;
const PALETTE = ['#4fb3ff', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#edc948',
  '#76b7b2', '#ff9da7', '#9c755f', '#bab0ac', '#86bcb6', '#d37295'];

const state = {
  chainId: null,
  assets: new Map(),          // id (lower case) -> {symbol, decimals}
  blocks: [],                 // oldest first: {height, hash, timestampMs, txCount}
  txs: [],                    // newest first, as /v1/activity returns them
  payments: new Map(),        // tx hash -> {height, payer, payee, asset, amount, settleMs}
  subnets: new Map(),         // netuid -> {summary, metagraph, emissions, sort, el}
  subnetsSeen: '',            // what the last subnet list looked like (to refetch on change)
};

// ---------- helpers ----------

const $ = (sel, el = document) => el.querySelector(sel);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v; else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

async function get(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

/** Base units (a decimal string) as a decimal with at most `frac` fractional digits. */
function units(value, decimals, frac = 4) {
  let v;
  try { v = BigInt(value); } catch { return String(value); }
  const neg = v < 0n; if (neg) v = -v;
  const scale = 10n ** BigInt(decimals);
  const int = v / scale;
  let f = (v % scale).toString().padStart(decimals, '0').slice(0, frac).replace(/0+$/, '');
  const intStr = int.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  if (int === 0n && f === '' && v !== 0n) return (neg ? '-' : '') + '<0.' + '0'.repeat(frac - 1) + '1';
  return (neg ? '-' : '') + intStr + (f ? '.' + f : '');
}

function asset(id) {
  const a = state.assets.get(String(id).toLowerCase());
  return a || { symbol: short(id), decimals: 0 };
}

function amount(value, assetId, frac = 4) {
  const a = asset(assetId);
  return `${units(value, a.decimals, frac)} ${a.symbol}`;
}

const sym = (v, frac = 4) => `${units(v, 9, frac)} SYM`;
const alpha = (v, frac = 4) => `${units(v, 9, frac)} α`;
const pct = (p) => `${(100 * p / U16).toFixed(2)} %`;
const short = (a) => (a && a.length > 12 ? `${a.slice(0, 6)}…${a.slice(-4)}` : String(a));

function addr(a) {
  return h('span', { class: 'mono', title: a }, short(a));
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el && el.textContent !== text) el.textContent = text;
}

// ---------- chain, blocks, block rate ----------

function renderHead() {
  const last = state.blocks[state.blocks.length - 1];
  if (!last) return;
  setText('height', `#${last.height.toLocaleString('en-US')}`);
  setText('head-hash', short(last.hash));
  const n = state.blocks.length;
  if (n >= 2) {
    const first = state.blocks[0];
    const span = (last.timestampMs - first.timestampMs) / 1000;
    if (span > 0) {
      const rate = (last.height - first.height) / span;
      setText('rate', `${rate.toFixed(rate < 10 ? 2 : 1)} blocks/s`);
      setText('interval', `${Math.round(1000 / rate)} ms per block (last ${n})`);
      const txs = state.blocks.slice(1).reduce((s, b) => s + b.txCount, 0);
      setText('tx-rate', `${(txs / span).toFixed(2)} tx/s`);
      setText('tx-window', `${txs} in the last ${span.toFixed(1)} s`);
    }
  }
  setText('blocks-n', String(n));
  renderBlocksChart();
}

function renderBlocksChart() {
  const el = $('#blocks-chart');
  // Drawn at the element's own width so that the labels are not stretched.
  const W = Math.max(200, Math.round(el.getBoundingClientRect().width) || 600), H = 120, top = 8, bottom = 18;
  const L = 34; // room for the scale's label
  el.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const bs = state.blocks;
  const max = Math.max(1, ...bs.map((b) => b.txCount));
  const bw = (W - L) / BLOCKS_SHOWN;
  const parts = [
    svg('line', { class: 'axis', x1: L, y1: H - bottom, x2: W, y2: H - bottom }),
    svg('line', { class: 'axis', x1: L, y1: top, x2: W, y2: top }),
  ];
  bs.forEach((b, i) => {
    const x = W - (bs.length - i) * bw;
    const hgt = b.txCount ? Math.max(2, (H - top - bottom) * b.txCount / max) : 1;
    parts.push(svg('rect', {
      class: b.txCount ? 'bar' : 'bar empty', x: x + 1, y: H - bottom - hgt,
      width: Math.max(1, bw - 2), height: hgt,
    }, svg('title', {}, `block ${b.height}: ${b.txCount} tx`)));
  });
  if (bs.length) {
    parts.push(svg('text', { x: L, y: H - 4 }, `#${bs[0].height}`));
    parts.push(svg('text', { x: W - 2, y: H - 4, 'text-anchor': 'end' }, `#${bs[bs.length - 1].height}`));
  }
  parts.push(svg('text', { x: L - 4, y: top + 4, 'text-anchor': 'end' }, `${max} tx`));
  parts.push(svg('text', { x: L - 4, y: H - bottom + 3, 'text-anchor': 'end' }, '0'));
  el.replaceChildren(...parts);
}

function onBlock(ev) {
  const b = { height: ev.height, hash: ev.hash, timestampMs: ev.header.timestampMs, txCount: ev.txCount };
  const last = state.blocks[state.blocks.length - 1];
  if (last && b.height <= last.height) return;
  state.blocks.push(b);
  if (state.blocks.length > BLOCKS_SHOWN) state.blocks.splice(0, state.blocks.length - BLOCKS_SHOWN);
  renderHead();
  if (b.txCount > 0) schedule('activity', 300, () => refreshActivity());
  if (b.txCount > 0) schedule('agents', 2000, refreshAgents);
  schedule('subnets', 1000, refreshSubnets);
  schedule('chain', 2000, refreshChain);
}

async function refreshChain() {
  const c = await get('/v1/chain');
  state.chainId = c.chainId;
  setText('network', `${c.network} · chain ${c.chainId}`);
  setText('supply', units(c.nativeSupply, 9, 0));
  setText('min-fee', `min fee ${units(c.minFee, 9, 9)} SYM`);
}

async function refreshAssets() {
  const a = await get('/v1/assets');
  for (const x of a.assets) {
    // Issued assets have a name and no symbol ("Devnet USD").
    state.assets.set(String(x.id).toLowerCase(), { symbol: x.symbol || x.name, decimals: x.decimals });
  }
}

// ---------- transactions and x402 payments ----------

function eventsOf(receipt, kind) {
  return (receipt.events || []).filter((e) => e[kind]).map((e) => e[kind]);
}

function describe(tx) {
  const c = tx.call || {};
  const r = tx.receipt || {};
  const moved = eventsOf(r, 'transfer')[0];
  switch (c.type) {
    case 'transfer': return `${amount(c.amount, c.asset)} → ${short(c.to)}`;
    case 'mint': return `${amount(c.amount, c.asset)} → ${short(c.to)}`;
    case 'burn': return amount(c.amount, c.asset);
    case 'transferWithAuthorization':
      return moved ? `${amount(moved.amount, moved.asset)} → ${short(moved.to)}` : '';
    case 'addStake': case 'removeStake': {
      const e = eventsOf(r, c.type === 'addStake' ? 'stakeAdded' : 'stakeRemoved')[0];
      return e ? `subnet ${e.netuid}: ${sym(e.tao)} ↔ ${alpha(e.alpha)}` : `subnet ${c.netuid}`;
    }
    case 'registerNeuron': {
      const e = eventsOf(r, 'neuronRegistered')[0];
      return e ? `subnet ${e.netuid} uid ${e.uid}, burned ${sym(e.burn)}` : `subnet ${c.netuid}`;
    }
    case 'createSubnet': {
      const e = eventsOf(r, 'subnetCreated')[0];
      return e ? `subnet ${e.netuid}, locked ${sym(e.lock)}` : '';
    }
    case 'setHyperparameter': return `subnet ${c.netuid}: ${c.name} = ${c.value}`;
    default: return c.netuid !== undefined ? `subnet ${c.netuid}` : '';
  }
}

const CALL_LABELS = {
  transferWithAuthorization: 'payment (3009)', cancelAuthorization: 'cancel auth.',
  createSubnet: 'create subnet', registerNeuron: 'register', addStake: 'stake',
  removeStake: 'unstake', setWeights: 'weights', commitWeights: 'commit weights',
  revealWeights: 'reveal weights', serveEndpoint: 'serve', setHyperparameter: 'hyperparameter',
};

function paymentOf(tx) {
  const r = tx.receipt || {};
  if (!eventsOf(r, 'authorizationUsed').length) return null;
  const t = eventsOf(r, 'transfer')[0];
  if (!t) return null;
  return { height: tx.height, payer: t.from, payee: t.to, asset: t.asset, amount: t.amount, settleMs: tx.settleMs };
}

/** The last transactions; `n` of them are read for the payments' history (more the first time). */
async function refreshActivity(n = 50) {
  const a = await get(`/v1/activity?blocks=0&txs=${Math.max(n, TXS_SHOWN)}`);
  state.txs = a.txs.slice(0, TXS_SHOWN);
  for (const tx of a.txs) {
    const p = paymentOf(tx);
    if (p) state.payments.set(tx.hash, p);
  }
  while (state.payments.size > 5000) state.payments.delete(state.payments.keys().next().value);
  renderTxs();
  renderPayments();
}

function renderTxs() {
  const rows = state.txs.map((tx) => {
    const ok = tx.receipt && tx.receipt.status === 'success';
    const status = ok ? h('span', { class: 'ok' }, 'ok')
      : h('span', { class: 'bad', title: tx.receipt && tx.receipt.status.failed ? tx.receipt.status.failed.message : '' },
        tx.receipt && tx.receipt.status.failed ? tx.receipt.status.failed.code : 'failed');
    return h('tr', {},
      h('td', {}, `#${tx.height}`),
      h('td', { title: tx.call ? tx.call.type : '' }, tx.call ? CALL_LABELS[tx.call.type] || tx.call.type : '?'),
      h('td', {}, addr(tx.from)),
      h('td', {}, describe(tx)),
      h('td', { class: 'num' }, units(tx.receipt ? tx.receipt.feeBurned : 0, 9, 6)),
      h('td', {}, status));
  });
  $('#txs').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'none yet'))]));
}

function renderPayments() {
  const all = [...state.payments.entries()].sort((a, b) => b[1].height - a[1].height);
  const rows = all.slice(0, TXS_SHOWN).map(([, p]) => h('tr', {},
    h('td', {}, `#${p.height}`),
    h('td', {}, addr(p.payer)),
    h('td', {}, addr(p.payee)),
    h('td', { class: 'num' }, amount(p.amount, p.asset)),
    h('td', { class: 'num' }, p.settleMs === null || p.settleMs === undefined ? '–' : `${p.settleMs} ms`)));
  $('#payments').replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'none yet'))]));
  setText('pay-count', `${all.length}`);
  const volume = new Map();
  for (const [, p] of all) volume.set(p.asset, (volume.get(p.asset) || 0n) + BigInt(p.amount));
  setText('pay-volume', volume.size
    ? 'volume ' + [...volume].map(([a, v]) => amount(v.toString(), a, 2)).join(', ')
    : 'volume 0');
  const lat = all.map(([, p]) => p.settleMs).filter((x) => typeof x === 'number').sort((a, b) => a - b);
  setText('pay-latency', lat.length
    ? `settlement median ${lat[lat.length >> 1]} ms, p90 ${lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.9))]} ms`
    : 'settlement latency: none measured here');
}

// ---------- subnets ----------

const COLUMNS = [
  { key: 'uid', label: 'uid', num: true, val: (n) => n.uid, fmt: (n) => String(n.uid) },
  { key: 'account', label: 'account', val: (n) => n.account, fmt: (n) => addr(n.account), cls: 'wide-only' },
  { key: 'stake', label: 'stake (α)', num: true, big: true, val: (n) => n.stake, fmt: (n) => units(n.stake, 9, 4) },
  { key: 'validatorTrust', label: 'trust', num: true, val: (n) => n.validatorTrust, fmt: (n) => pct(n.validatorTrust), title: 'validator trust' },
  { key: 'consensus', label: 'consensus', num: true, val: (n) => n.consensus, fmt: (n) => pct(n.consensus) },
  { key: 'incentive', label: 'incentive', num: true, val: (n) => n.incentive, fmt: (n) => pct(n.incentive) },
  { key: 'dividends', label: 'dividends', num: true, val: (n) => n.dividends, fmt: (n) => pct(n.dividends) },
  { key: 'emission', label: 'emission (α/epoch)', num: true, big: true, val: (n) => n.emission, fmt: (n) => units(n.emission, 9, 4) },
  { key: 'validatorPermit', label: 'VP', val: (n) => (n.validatorPermit ? 1 : 0), fmt: (n) => (n.validatorPermit ? '✓' : ''), title: 'validator permit' },
  { key: 'lastUpdate', label: 'updated', num: true, val: (n) => n.lastUpdate, fmt: (n) => `#${n.lastUpdate}`, title: 'block of its last weights', cls: 'wide-only' },
];

function compare(col, a, b) {
  const x = col.val(a), y = col.val(b);
  if (col.big) { const p = BigInt(x), q = BigInt(y); return p < q ? -1 : p > q ? 1 : 0; }
  return x < y ? -1 : x > y ? 1 : 0;
}

function subnetEl(s) {
  if (s.el) return s.el;
  const netuid = s.summary.netuid;
  s.el = h('section', { class: 'panel subnet', 'data-netuid': netuid },
    h('div', { class: 'subnet-head' },
      h('h2', {}, `Subnet ${netuid}`),
      h('span', { class: 'muted sn-meta' })),
    h('div', { class: 'facts' }),
    h('h3', {}, 'Metagraph ', h('span', { class: 'muted small' }, 'click a column to sort; proportions in % of the subnet')),
    h('div', { class: 'scroll' }, h('table', { class: 'data metagraph' }, h('thead'), h('tbody'))),
    h('h3', {}, 'Last epochs ', h('span', { class: 'muted small epochs-note' })),
    h('div', { class: 'charts' },
      h('div', {}, h('div', { class: 'small muted' }, 'incentive per uid'), h('div', { class: 'chart-box', 'data-kind': 'incentive' })),
      h('div', {}, h('div', { class: 'small muted' }, 'dividends per uid'), h('div', { class: 'chart-box', 'data-kind': 'dividends' }))),
    h('div', { class: 'legend' }));
  $('#subnets').append(s.el);
  $('#no-subnets').hidden = true;
  return s.el;
}

/** Draws a subnet's summary; its table and charts too when `s.fresh` (new data fetched). */
function renderSubnet(s) {
  const el = subnetEl(s);
  const x = s.summary;
  $('.sn-meta', el).replaceChildren(
    `owner `, addr(x.owner), ` · ${x.neurons}/${x.maxUids} neurons · tempo ${x.tempo} · last epoch #${x.lastEpoch} · next in ${x.blocksUntilNextEpoch} blocks`);
  const fact = (label, value, title) => h('div', { title }, h('b', {}, label), value);
  $('.facts', el).replaceChildren(
    fact('price', `${units(x.price, 9, 6)} SYM/α`, 'spot price of the pool'),
    fact('moving price', `${units(x.movingPrice, 9, 6)} SYM/α`, 'the price emission follows'),
    fact('pool SYM', sym(x.pool.tao, 2), 'native reserve'),
    fact('pool α', alpha(x.pool.alpha, 2), 'alpha reserve'),
    fact('emission', `${units(x.emissionPerBlock, 9, 4)} SYM/block`, 'native emission into the pool per block'),
    fact('alpha out', alpha(x.alphaOut, 2), 'alpha held as stake'),
    fact('registration', sym(x.burn, 4), 'burn to register a neuron now'));
  if (s.fresh) {
    s.fresh = false;
    renderMetagraph(s);
    renderEpochCharts(s);
  }
}

function renderMetagraph(s) {
  const table = $('table.metagraph', s.el);
  const sort = s.sort;
  $('thead', table).replaceChildren(h('tr', {}, COLUMNS.map((c) => {
    const th = h('th', {
      class: `sortable${c.num ? ' num' : ''}${c.cls ? ' ' + c.cls : ''}`, title: c.title, 'data-key': c.key,
      'aria-sort': sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : null,
    }, c.label);
    th.addEventListener('click', () => {
      s.sort = { key: c.key, dir: sort.key === c.key ? -sort.dir : (c.num ? -1 : 1) };
      renderMetagraph(s);
    });
    return th;
  })));
  const col = COLUMNS.find((c) => c.key === sort.key) || COLUMNS[0];
  const neurons = [...(s.metagraph ? s.metagraph.neurons : [])].sort((a, b) => sort.dir * compare(col, a, b) || a.uid - b.uid);
  const rows = neurons.map((n) => h('tr', { 'data-uid': n.uid }, COLUMNS.map((c) =>
    h('td', { class: `${c.num ? 'num' : ''}${c.cls ? ' ' + c.cls : ''}` }, c.fmt(n)))));
  $('tbody', table).replaceChildren(...(rows.length ? rows
    : [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'muted' }, 'no neurons yet'))]));
}

function color(uid) { return PALETTE[uid % PALETTE.length]; }

function renderEpochCharts(s) {
  const epochs = (s.emissions ? s.emissions.epochs : []).slice(-EPOCHS_SHOWN);
  $('.epochs-note', s.el).textContent = epochs.length
    ? `${epochs.length} epochs, blocks #${epochs[0].block}–#${epochs[epochs.length - 1].block}`
    : 'no epoch yet';
  const uids = new Set();
  for (const e of epochs) for (const n of e.neurons) if (n.incentive || n.dividends) uids.add(n.uid);
  const sorted = [...uids].sort((a, b) => a - b);
  for (const kind of ['incentive', 'dividends']) {
    $(`.chart-box[data-kind="${kind}"]`, s.el).replaceChildren(epochChart(epochs, sorted, kind));
  }
  $('.legend', s.el).replaceChildren(...sorted.map((u) => h('span', {}, h('i', { style: `background:${color(u)}` }), `uid ${u}`)));
}

function epochChart(epochs, uids, kind) {
  const W = 480, H = 200, L = 36, R = 8, T = 8, B = 22;
  const root = svg('svg', { class: 'chart epoch-chart', 'data-kind': kind, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${kind} per uid over the last epochs` });
  const y = (p) => T + (H - T - B) * (1 - p / U16);
  const x = (i) => L + (epochs.length > 1 ? (W - L - R) * i / (epochs.length - 1) : (W - L - R) / 2);
  for (const p of [0, 0.5, 1]) {
    root.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: y(p * U16), y2: y(p * U16) }));
    root.append(svg('text', { x: L - 4, y: y(p * U16) + 3, 'text-anchor': 'end' }, `${p * 100}%`));
  }
  if (!epochs.length) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no epoch yet'));
    return root;
  }
  root.append(svg('text', { x: L, y: H - 6 }, `#${epochs[0].block}`));
  root.append(svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, `#${epochs[epochs.length - 1].block}`));
  for (const uid of uids) {
    const pts = epochs.map((e, i) => {
      const n = e.neurons.find((m) => m.uid === uid);
      return [x(i), y(n ? n[kind] : 0), n ? n[kind] : 0, e.block];
    });
    if (!pts.some((p) => p[2] > 0)) continue;
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${p[0].toFixed(1)},${p[1].toFixed(1)}`).join('');
    root.append(svg('path', { class: 'series', d, stroke: color(uid), 'data-uid': uid },
      svg('title', {}, `uid ${uid}: ${kind} ${pct(pts[pts.length - 1][2])} at epoch #${pts[pts.length - 1][3]}`)));
    const last = pts[pts.length - 1];
    root.append(svg('circle', { cx: last[0], cy: last[1], r: 3, fill: color(uid) }));
  }
  return root;
}

async function refreshSubnets() {
  const list = await get('/v1/subnets');
  const jobs = [];
  for (const summary of list.subnets) {
    let s = state.subnets.get(summary.netuid);
    if (!s) {
      s = { summary, metagraph: null, emissions: null, sort: { key: 'uid', dir: 1 }, el: null, seen: '' };
      state.subnets.set(summary.netuid, s);
    }
    s.summary = summary;
    // The metagraph changes at an epoch, a registration or a stake; refetch when the summary
    // says so, or every few seconds anyway (stakes move without changing the summary).
    const key = `${summary.lastEpoch}/${summary.neurons}/${summary.alphaOut}`;
    const stale = !s.fetchedAt || Date.now() - s.fetchedAt > 5000;
    if (key !== s.seen || stale) {
      s.seen = key;
      s.fetchedAt = Date.now();
      jobs.push(Promise.all([
        get(`/v1/subnets/${summary.netuid}/metagraph`),
        get(`/v1/subnets/${summary.netuid}/emissions?limit=${EPOCHS_SHOWN}`),
      ]).then(([m, e]) => { s.metagraph = m; s.emissions = e; s.fresh = true; }));
    }
  }
  await Promise.all(jobs);
  for (const s of state.subnets.values()) renderSubnet(s);
}

// ---------- live updates ----------

const timers = new Map();
/** Runs `fn` at most once per `ms` for `name`, trailing. */
function schedule(name, ms, fn) {
  if (timers.has(name)) return;
  timers.set(name, setTimeout(() => {
    timers.delete(name);
    fn().catch((e) => console.warn(name, e));
  }, ms));
}

let backoff = 500;
function connect() {
  const live = $('#live');
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/v1/events`);
  ws.onopen = () => {
    backoff = 500;
    live.dataset.state = 'live';
    live.textContent = 'live';
  };
  ws.onmessage = (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch { return; }
    if (ev.type === 'block') onBlock(ev);
    else if (ev.type === 'lagged') loadAll().catch((e) => console.warn(e));
  };
  ws.onclose = () => {
    live.dataset.state = 'down';
    live.textContent = 'reconnecting';
    setTimeout(() => { loadAll().catch(() => {}); connect(); }, backoff);
    backoff = Math.min(backoff * 2, 10000);
  };
}

// ---------- agents (ERC-8004 identity registry) ----------

async function refreshAgents() {
  const a = await get('/v1/agents?limit=100');
  const rows = await Promise.all(a.agents.map(async (x) => {
    const d = await get(`/v1/agents/${x.id}`);
    return h('tr', {},
      h('td', { class: 'num' }, String(x.id)),
      h('td', { title: x.owner }, short(x.owner)),
      h('td', { title: x.wallet || '' }, x.wallet ? short(x.wallet) : '—'),
      h('td', {}, x.uri),
      h('td', { class: 'num' }, String(d.feedbackCount)));
  }));
  $('#agent-rows').replaceChildren(...rows);
  $('#agents-table').hidden = rows.length === 0;
  $('#no-agents').hidden = rows.length > 0;
}

async function loadBlocks() {
  const a = await get(`/v1/activity?blocks=${BLOCKS_SHOWN}&txs=0`);
  // Blocks the stream delivered while this was loading come after the ones read here.
  const newer = state.blocks.filter((b) => b.height > a.height);
  state.blocks = a.blocks.slice().reverse().concat(newer).slice(-BLOCKS_SHOWN);
  renderHead();
}

async function loadAll() {
  await refreshAssets();
  await Promise.all([refreshChain(), loadBlocks(), refreshActivity(200), refreshSubnets(),
    refreshAgents()]);
}

function start() {
  connect();
  loadAll()
    .then(() => {
      document.body.dataset.ready = 'true';
      // Milliseconds since the navigation started: the first render with data.
      document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
    })
    .catch((e) => { setText('network', `error: ${e.message}`); console.error(e); });
}

window.addEventListener('resize', () => schedule('resize', 150, async () => renderBlocksChart()));
start();
