import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { SecureWebSocket } from 'wsguard/client';
import type {
  Action,
  ChannelRow,
  FeedEvent,
  HistoryPoint,
  Initial,
  NodeRow,
  Offender,
  Snapshot,
} from './types.js';

type Outgoing = {
  hello: { payload: Record<string, never>; result: Initial };
  action: { payload: Action; result: { ok: true } };
};
type Incoming = { snapshot: Snapshot };

const base = location.pathname.replace(/\/(index\.html)?$/, '');
const $ = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector(sel) as T;
(document.getElementById('logout') as HTMLFormElement).action = `${base}/logout`;

const WINDOW = 900;
const COLORS = [
  '#ff6b6b',
  '#ffa94d',
  '#ffd43b',
  '#69db7c',
  '#4dabf7',
  '#b197fc',
  '#f783ac',
  '#63e6be',
  '#a9e34b',
];
const history: HistoryPoint[] = [];
const events: FeedEvent[] = [];
const codeColor = new Map<string, string>();

/** Builds an element with text only: ids and IPs come from clients and are never parsed as HTML. */
function el(tag: string, text?: string | number, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
const duration = (ms: number) => {
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
};
const fmt = (n: number, digits = 1) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));

// ---- chart: uPlot, one filled series per code, stacked by summing ----
let chart: uPlot | undefined;
let chartCodes: string[] = [];
const chartBox = $('#chart');
function chartData(codes: string[]): uPlot.AlignedData {
  const xs = history.map((p) => p.t / 1000);
  // Series k holds codes k..n-1 summed, so each fill sits on the ones after it.
  const ys = codes.map((_, k) =>
    history.map((p) => codes.slice(k).reduce((s, c) => s + (p.refusals[c] ?? 0), 0)),
  );
  return [xs, ...ys];
}
function drawChart() {
  const codes = [...new Set(history.flatMap((p) => Object.keys(p.refusals)))].sort();
  for (const c of codes)
    if (!codeColor.has(c)) codeColor.set(c, COLORS[codeColor.size % COLORS.length] as string);
  const width = Math.max(260, chartBox.clientWidth);
  if (!chart || codes.join() !== chartCodes.join()) {
    chart?.destroy();
    chartCodes = codes;
    chart = new uPlot(
      {
        width,
        height: 220,
        legend: { show: false },
        scales: {
          x: { time: true, range: (_u, _min, max) => [max - WINDOW, max] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        },
        axes: [
          { stroke: '#9aa3b2', grid: { stroke: '#2a2f3a' } },
          { stroke: '#9aa3b2', grid: { stroke: '#2a2f3a' } },
        ],
        series: [
          {},
          ...codes.map((c) => ({
            label: c,
            stroke: codeColor.get(c) ?? '#888',
            fill: `${codeColor.get(c) ?? '#888'}99`,
            points: { show: false },
          })),
        ],
      },
      chartData(codes),
      chartBox,
    );
  } else chart.setData(chartData(codes));
  if (chart.width !== width) chart.setSize({ width, height: 220 });
  const legend = $('#refusal-codes');
  legend.replaceChildren(
    ...codes.map((c) => {
      const total = history.reduce((s, p) => s + (p.refusals[c] ?? 0), 0);
      const li = el('li');
      li.dataset.code = c;
      const swatch = el('i');
      swatch.style.background = codeColor.get(c) ?? '#888';
      li.append(swatch, el('span', `${c} ${fmt(total, 0)}`));
      return li;
    }),
  );
  const sum = (k: 'anomalies' | 'blocks' | 'bans') => history.reduce((s, p) => s + p[k], 0);
  $('#anomalies').textContent = String(sum('anomalies'));
  $('#blocks').textContent = String(sum('blocks'));
  $('#bans').textContent = String(sum('bans'));
}
window.addEventListener('resize', () =>
  chart?.setSize({ width: Math.max(260, chartBox.clientWidth), height: 220 }),
);

// ---- tables ----
function renderNodes(nodes: NodeRow[]) {
  const total = (k: keyof NodeRow) => nodes.reduce((s, n) => s + (n[k] as number), 0);
  $('#sockets-open').textContent = String(total('socketsOpen'));
  $('#sockets-auth').textContent = String(total('socketsAuthenticated'));
  $('#msgs-in').textContent = fmt(total('messagesInPerSec'));
  $('#msgs-out').textContent = fmt(total('messagesOutPerSec'));
  const p50 = Math.max(0, ...nodes.map((n) => n.p50));
  const p99 = Math.max(0, ...nodes.map((n) => n.p99));
  $('#latency').textContent = `${fmt(p50, 2)} / ${fmt(p99, 2)}`;
  // A node of a version without channel figures reports none: counted as 0.
  const count = (n: NodeRow, k: 'subscriptions' | 'channelCount' | 'deliveriesPerSec') =>
    typeof n[k] === 'number' ? n[k] : 0;
  $('#subscriptions').textContent = String(nodes.reduce((s, n) => s + count(n, 'subscriptions'), 0));
  $('#deliveries').textContent = fmt(nodes.reduce((s, n) => s + count(n, 'deliveriesPerSec'), 0));
  $('#nodes tbody').replaceChildren(
    ...nodes.map((n) => {
      const tr = el('tr');
      tr.dataset.node = n.node;
      tr.append(
        el('td', n.node),
        el('td', n.socketsOpen, 'num'),
        el('td', n.socketsAuthenticated, 'num'),
        el('td', fmt(n.messagesInPerSec), 'num'),
        el('td', fmt(n.messagesOutPerSec), 'num'),
        el('td', fmt(n.p50, 2), 'num'),
        el('td', fmt(n.p99, 2), 'num'),
        el('td', count(n, 'channelCount'), 'num'),
        el('td', count(n, 'subscriptions'), 'num'),
      );
      return tr;
    }),
  );
}

function renderChannels(list: ChannelRow[] | undefined) {
  const rows = (list ?? []).map((c) => {
    const tr = el('tr');
    tr.dataset.channel = c.channel;
    tr.append(el('td', c.channel), el('td', c.subscribers, 'num'));
    return tr;
  });
  if (rows.length === 0) {
    const empty = el('td', 'no channel has a subscriber', 'muted');
    empty.setAttribute('colspan', '2');
    const tr = el('tr');
    tr.append(empty);
    rows.push(tr);
  }
  $('#channels tbody').replaceChildren(...rows);
}

function actionButton(label: string, action: Action, danger = false): HTMLElement {
  const b = el('button', label, danger ? 'danger' : undefined) as HTMLButtonElement;
  b.type = 'button';
  b.dataset.action = action.action;
  b.addEventListener('click', () => void act(action));
  return b;
}

function renderOffenders(list: Offender[], now: number) {
  $('#offenders tbody').replaceChildren(
    ...list.map((o) => {
      const tr = el('tr');
      tr.dataset.kind = o.kind;
      tr.dataset.id = o.id;
      const left = o.blockedUntil - now;
      const buttons = el('td');
      if (o.kind === 'ip') {
        buttons.append(
          actionButton('ban', { action: 'ban', ip: o.id }, true),
          actionButton('unban', { action: 'unban', ip: o.id }),
        );
      } else {
        buttons.append(
          actionButton('unblock', { action: 'unblockUser', userId: o.id }),
          actionButton('revoke', { action: 'revokeUser', userId: o.id }, true),
        );
      }
      tr.append(
        el('td', o.kind),
        el('td', o.id),
        el('td', fmt(o.score), 'num'),
        el('td', o.strikes, 'num'),
        el('td', left > 0 ? duration(left) : '–', 'num'),
        buttons,
      );
      return tr;
    }),
  );
}

const filterEvent = $<HTMLSelectElement>('#filter-event');
const filterCode = $<HTMLSelectElement>('#filter-code');
function addOption(select: HTMLSelectElement, value: string | undefined) {
  if (!value || [...select.options].some((o) => o.value === value)) return;
  const o = el('option', value) as HTMLOptionElement;
  o.value = value;
  select.append(o);
}
function renderEvents() {
  const fe = filterEvent.value;
  const fc = filterCode.value;
  const rows = events
    .filter((e) => (!fe || e.event === fe) && (!fc || e.code === fc))
    .slice(-200)
    .reverse();
  $('#events tbody').replaceChildren(
    ...rows.map((e) => {
      const tr = el('tr');
      tr.dataset.event = e.event;
      if (e.code) tr.dataset.code = e.code;
      const socket = el('td');
      if (e.connectionId) {
        socket.append(el('span', `${e.connectionId} `));
        if (e.event === 'connection.accepted' || e.event === 'auth.success')
          socket.append(actionButton('disconnect', { action: 'disconnect', connectionId: e.connectionId }));
      }
      const user = el('td', e.userId ?? '');
      if (e.sessionId && e.event === 'auth.success')
        user.append(actionButton('revoke session', { action: 'revokeSession', sessionId: e.sessionId }));
      tr.append(
        el('td', new Date(e.t).toLocaleTimeString()),
        el('td', e.event),
        el('td', e.code ?? (e.closeCode === undefined ? '' : String(e.closeCode))),
        el('td', e.ip ?? ''),
        user,
        socket,
        el('td', e.note ?? ''),
        el('td', e.node),
      );
      return tr;
    }),
  );
}
filterEvent.addEventListener('change', renderEvents);
filterCode.addEventListener('change', renderEvents);
function addEvents(list: FeedEvent[]) {
  for (const e of list) {
    events.push(e);
    addOption(filterEvent, e.event);
    addOption(filterCode, e.code);
  }
  if (events.length > 500) events.splice(0, events.length - 500);
  renderEvents();
}

// ---- the socket: a wsguard connection, authenticated with a one-time ticket ----
const socket = new SecureWebSocket<Outgoing, Incoming>({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${base}/ws`,
  getToken: async () => {
    const res = await fetch(`${base}/api/ticket`, { credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 401) {
      location.reload();
      throw new Error('signed out');
    }
    return ((await res.json()) as { ticket: string }).ticket;
  },
  reconnect: { maxDelayMs: 5000 },
});
const status = $('#status');
socket.addEventListener('open', () => {
  status.dataset.state = 'live';
  status.textContent = 'live';
  void socket.send({ type: 'hello', payload: {} }).then((init) => {
    history.splice(0, history.length, ...init.history);
    events.splice(0, events.length);
    addEvents(init.events);
    drawChart();
  });
});
socket.addEventListener('close', () => {
  status.dataset.state = 'down';
  status.textContent = 'disconnected, retrying…';
});
socket.on('snapshot', (s) => {
  history.push(s.point);
  if (history.length > WINDOW) history.splice(0, history.length - WINDOW);
  renderNodes(s.nodes);
  renderChannels(s.channels);
  renderOffenders(s.offenders, s.t);
  addEvents(s.events);
  drawChart();
});

const result = $('#act-result');
async function act(a: Action) {
  const target =
    'ip' in a ? a.ip : 'userId' in a ? a.userId : 'sessionId' in a ? a.sessionId : a.connectionId;
  if (!window.confirm(`${a.action} ${target}?`)) return;
  try {
    await socket.send({ type: 'action', payload: a });
    result.textContent = `${a.action} ${target}: done`;
  } catch (err) {
    result.textContent = `${a.action} ${target}: failed (${(err as Error).message})`;
  }
}
$<HTMLFormElement>('#act').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target as HTMLFormElement);
  const target = String(form.get('target') ?? '').trim();
  const kind = String(form.get('action'));
  const a: Action =
    kind === 'ban' || kind === 'unban'
      ? { action: kind, ip: target }
      : kind === 'unblockUser' || kind === 'revokeUser'
        ? { action: kind, userId: target }
        : kind === 'revokeSession'
          ? { action: 'revokeSession', sessionId: target }
          : { action: 'disconnect', connectionId: target };
  void act(a);
});
