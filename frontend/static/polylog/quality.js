// Quality page (docs/ui.md "Quality"): the job's quality figures (GET /api/jobs/<id>/quality/) as small SVG
// charts, so people see trends rather than read tables. Every number, bar and point is a link to the events
// behind it: the events list on this page (?figure=&person=&day=, from quality/events/), whose rows open
// the replay at that event (/items/<id>/replay/?seq=N). Read-only: only GET requests. No chart library:
// each chart is a few rects, circles and a polyline built with h('svg:...').

import { boot, get, post } from './api.js';
import { $, clear, formatTime, h, toast } from './ui.js';

const { job } = boot();
const params = new URLSearchParams(window.location.search);
const names = new Map(); // person id -> username

const FIGURES = {
  labeled: 'images labeled',
  accepted: 'accepted',
  rejected: 'rejected',
  issues_received: 'issues received',
  rework: 'rework rounds',
  shapes: 'shapes drawn',
  reviews_accepted: 'reviews sent: accepted',
  reviews_rejected: 'reviews sent: rejected',
  active: 'active time (their events)',
  saves: 'saves',
  events: 'events',
};

function eventsHref({ figure, person = null, day = null }) {
  const query = new URLSearchParams({ figure });
  if (person !== null) query.set('person', person);
  if (day !== null) query.set('day', day);
  return `?${query}#events`;
}

function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')}`;
}

const shortDay = (day) => day.slice(5); // MM-DD

// Every day from the first to the last one the report names, so each chart shares one time axis.
function dayRange(report) {
  const days = new Set(report.throughput.map((d) => d.day));
  for (const person of report.people) for (const d of person.days) days.add(d.day);
  if (!days.size) return [];
  const sorted = [...days].sort();
  const out = [];
  const end = new Date(`${sorted.at(-1)}T00:00:00Z`);
  for (let at = new Date(`${sorted[0]}T00:00:00Z`); at <= end; at.setUTCDate(at.getUTCDate() + 1)) {
    out.push(at.toISOString().slice(0, 10));
  }
  return out;
}

// A bar chart of `days` x `series` ({key, label, cls, value(day) -> n, href(day) -> url}), bars side by side.
function barChart({ days, series, width = 520, height = 170, cls }) {
  const pad = { left: 30, right: 8, top: 10, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...days.flatMap((day) => series.map((s) => s.value(day))));
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(2, Math.min(28, (slot * 0.8) / series.length));
  const svg = h('svg:svg', { class: `chart ${cls}`, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
  svg.append(h('svg:line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH }));
  svg.append(h('svg:text', { class: 'tick', x: pad.left - 4, y: pad.top + 8, 'text-anchor': 'end' }, String(max)));
  svg.append(h('svg:text', { class: 'tick', x: pad.left - 4, y: pad.top + plotH, 'text-anchor': 'end' }, '0'));
  const every = Math.ceil(days.length / 8); // at most 8 day labels
  days.forEach((day, i) => {
    const x0 = pad.left + i * slot + (slot - barW * series.length) / 2;
    series.forEach((s, k) => {
      const n = s.value(day);
      const barH = (n / max) * plotH;
      const rect = h('svg:rect', {
        class: `bar ${s.cls}`, x: x0 + k * barW, y: pad.top + plotH - barH, width: barW - 1, height: Math.max(barH, n ? 1 : 0),
        dataset: { day, value: n },
      }, h('svg:title', {}, `${day}: ${n} ${s.label}`));
      svg.append(n ? h('svg:a', { href: s.href(day), class: 'bar-link' }, rect) : rect);
    });
    if (i % every === 0) {
      svg.append(h('svg:text', { class: 'tick', x: pad.left + i * slot + slot / 2, y: height - 6, 'text-anchor': 'middle' }, shortDay(day)));
    }
  });
  return svg;
}

// A line with a point a day (active time); each point links to that day's events of the person.
function lineChart({ days, value, href, label, width = 250, height = 70, cls }) {
  const pad = { left: 4, right: 4, top: 8, bottom: 8 };
  const max = Math.max(1, ...days.map(value));
  const x = (i) => pad.left + (days.length === 1 ? (width - pad.left - pad.right) / 2 : (i * (width - pad.left - pad.right)) / (days.length - 1));
  const y = (n) => pad.top + (1 - n / max) * (height - pad.top - pad.bottom);
  const svg = h('svg:svg', { class: `chart spark ${cls}`, viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
  svg.append(h('svg:polyline', { class: 'line', points: days.map((day, i) => `${x(i)},${y(value(day))}`).join(' ') }));
  days.forEach((day, i) => {
    const n = value(day);
    const point = h('svg:circle', { class: 'point', cx: x(i), cy: y(n), r: 3.5, dataset: { day, value: n } },
      h('svg:title', {}, `${day}: ${label(n)}`));
    svg.append(n ? h('svg:a', { href: href(day) }, point) : point);
  });
  return svg;
}

// Horizontal bars per person: accepted and rejected decisions on the images they labeled.
function verdictChart(people) {
  const rows = people.filter((p) => p.labeled || p.accepted || p.rejected);
  const width = 520;
  const rowH = 24;
  const left = 110;
  const height = Math.max(1, rows.length) * rowH + 8;
  const max = Math.max(1, ...rows.map((p) => p.accepted + p.rejected));
  const scale = (width - left - 60) / max;
  const svg = h('svg:svg', { class: 'chart verdicts', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
  rows.forEach((person, i) => {
    const y = 4 + i * rowH;
    svg.append(h('svg:text', { class: 'name', x: left - 6, y: y + 15, 'text-anchor': 'end' }, person.username));
    let x = left;
    for (const [key, cls] of [['accepted', 'accepted'], ['rejected', 'rejected']]) {
      const n = person[key];
      if (!n) continue;
      const rect = h('svg:rect', { class: `bar ${cls}`, x, y: y + 3, width: n * scale, height: rowH - 8, dataset: { person: person.id, value: n } },
        h('svg:title', {}, `${person.username}: ${n} ${key}`));
      svg.append(h('svg:a', { href: eventsHref({ figure: key, person: person.id }) }, rect));
      x += n * scale;
    }
    const rate = person.accepted + person.rejected ? Math.round((100 * person.accepted) / (person.accepted + person.rejected)) : null;
    svg.append(h('svg:text', { class: 'tick', x: x + 6, y: y + 15 }, rate === null ? 'not reviewed' : `${rate}% accepted`));
  });
  return svg;
}

function figureLink(person, figure, text, name = FIGURES[figure] ?? figure) {
  return h('a', { class: 'figure', href: eventsHref({ figure, person: person.id }), dataset: { figure } },
    h('span', { class: 'value' }, text), h('span', { class: 'name' }, name));
}

// A person's card. Someone who reviews and labels nothing (a reviewer) gets their own work: the reviews
// they sent, per day too, and their active time; the labeling figures (all 0 or "–") would read as a
// verdict on them ("0 accepted" beside "3 reviews sent: accepted"), so they are left out.
function personCard(person, days) {
  const byDay = new Map(person.days.map((d) => [d.day, d]));
  const on = (day, key) => byDay.get(day)?.[key] ?? 0;
  const perShape = person.vertices_per_shape === null ? '–' : person.vertices_per_shape.toFixed(1);
  const perImage = person.issues_per_image === null ? '–' : person.issues_per_image.toFixed(2);
  const reviews = person.reviews_accepted + person.reviews_rejected;
  const labels = !reviews || person.labeled || person.shapes || person.accepted || person.rejected || person.rework || person.issues_received;
  const reviewsSent = reviews
    ? figureLink(person, 'reviews_accepted', `${person.reviews_accepted} / ${person.reviews_rejected}`, 'reviews sent: accepted / rejected')
    : null;
  const active = h('a', { class: 'figure', href: eventsHref({ figure: 'active', person: person.id }), dataset: { figure: 'active_seconds' } },
    h('span', { class: 'value', title: `${Math.round(person.active_seconds)} s` }, duration(person.active_seconds)), h('span', { class: 'name' }, 'active time'));
  const figures = labels
    ? [
        figureLink(person, 'labeled', person.labeled),
        figureLink(person, 'accepted', person.accepted),
        figureLink(person, 'rejected', person.rejected),
        figureLink(person, 'rework', person.rework),
        h('a', { class: 'figure', href: eventsHref({ figure: 'issues_received', person: person.id }), dataset: { figure: 'issues_per_image' } },
          h('span', { class: 'value' }, perImage), h('span', { class: 'name' }, `issues per image (${person.issues_received})`)),
        active,
        h('a', { class: 'figure', href: eventsHref({ figure: 'shapes', person: person.id }), dataset: { figure: 'vertices_per_shape' } },
          h('span', { class: 'value' }, perShape), h('span', { class: 'name' }, `vertices per shape (${person.shapes})`)),
        reviewsSent,
      ]
    : [reviewsSent, active];
  const workChart = labels
    ? h('figure', {},
        barChart({
          days, width: 250, height: 80, cls: 'labeled-days',
          series: [{ cls: 'labeled', label: 'images labeled', value: (day) => on(day, 'labeled'), href: (day) => eventsHref({ figure: 'labeled', person: person.id, day }) }],
        }),
        h('figcaption', {}, 'images labeled per day'))
    : h('figure', {},
        barChart({
          days, width: 250, height: 80, cls: 'reviews-days',
          series: [
            { cls: 'accepted', label: 'accepted', value: (day) => on(day, 'reviews_accepted'), href: (day) => eventsHref({ figure: 'reviews_accepted', person: person.id, day }) },
            { cls: 'rejected', label: 'rejected', value: (day) => on(day, 'reviews_rejected'), href: (day) => eventsHref({ figure: 'reviews_rejected', person: person.id, day }) },
          ],
        }),
        h('figcaption', {}, 'reviews sent per day (accepted, rejected)'));
  return h('section', { class: 'card person', dataset: { person: person.id, work: labels ? 'labels' : 'reviews' } },
    h('h3', {}, person.username),
    h('div', { class: 'figures' }, figures.filter(Boolean)),
    h('div', { class: 'sparks' },
      workChart,
      h('figure', {},
        lineChart({
          days, cls: 'active-days', value: (day) => on(day, 'active_seconds') / 60, label: (n) => `${n.toFixed(1)} min active`,
          href: (day) => eventsHref({ figure: 'active', person: person.id, day }),
        }),
        h('figcaption', {}, 'active minutes per day'))));
}

// Ground truth: per annotator, the mean IoU of their matched objects as a bar (0 to 1), with missed,
// extra and label confusions beside it; each copy they labeled links to its replay at the save compared.
function truthSection(report) {
  if (!report.truths.length && job.role !== 'manager') return;
  $('#truth').hidden = false;
  if (!report.truths.length) {
    $('#truth-note').textContent = 'No ground truth yet: mark accepted images, then offer annotators copies of them, which they label like any other image.';
    clear($('#truth-chart'));
    clear($('#truth-details'));
    return;
  }
  $('#truth-note').textContent = `${report.truths.length} ground-truth image${report.truths.length === 1 ? '' : 's'}; objects match from IoU ${report.match_iou} on. ${report.pending.length} cop${report.pending.length === 1 ? 'y' : 'ies'} not labeled yet.`;
  const width = 520;
  const rowH = 24;
  const left = 110;
  const svg = h('svg:svg', { class: 'chart truth', viewBox: `0 0 ${width} ${report.annotators.length * rowH + 8}`, width, height: report.annotators.length * rowH + 8, role: 'img' });
  report.annotators.forEach((person, i) => {
    const y = 4 + i * rowH;
    const value = person.mean_iou ?? 0;
    svg.append(h('svg:text', { class: 'name', x: left - 6, y: y + 15, 'text-anchor': 'end' }, person.username));
    svg.append(h('svg:rect', { class: 'track', x: left, y: y + 3, width: width - left - 150, height: rowH - 8 }));
    svg.append(h('svg:rect', { class: 'bar iou', x: left, y: y + 3, width: value * (width - left - 150), height: rowH - 8, dataset: { person: person.id, value } },
      h('svg:title', {}, `${person.username}: mean IoU ${value.toFixed(2)} over ${person.matched} matched objects`)));
    svg.append(h('svg:text', { class: 'tick', x: width - 144, y: y + 15 }, `IoU ${value.toFixed(2)} · ${person.missed} missed · ${person.extra} extra`));
  });
  clear($('#truth-chart'), svg);
  clear($('#truth-details'), report.annotators.map((person) => h('li', { dataset: { person: person.id } },
    h('strong', {}, person.username), ': ',
    person.confusions.length
      ? person.confusions.map((c) => `${c.truth_label} drawn as ${c.their_label} (${c.objects})`).join(', ')
      : 'no label confusions',
    ' · copies: ',
    person.images.map((image, n) => [n ? ', ' : '', h('a', { href: image.replay_url }, `#${image.item_id}`)]))));
}

// Managers: mark an accepted image as ground truth, and offer an annotator a copy of one (POST
// ground-truth/ and ground-truth/copies/); the card is drawn again from the answer.
async function truthControls(report) {
  if (job.role !== 'manager') return;
  const [accepted, members] = await Promise.all([
    get(`/api/jobs/${job.id}/items/?review=accepted&page_size=200&ordering=id`),
    get(`/api/jobs/${job.id}/members/`),
  ]);
  const marked = new Set(report.truths.map((t) => t.item_id));
  const candidates = accepted.results.filter((item) => !marked.has(item.id));
  clear($('#truth-candidate'), candidates.map((item) => h('option', { value: item.id }, `${item.image.name} (#${item.id})`)));
  $('#truth-mark').hidden = !candidates.length;
  clear($('#truth-item'), report.truths.map((t) => h('option', { value: t.item_id }, `${t.image} (#${t.item_id})`)));
  // Annotators first: a copy checks someone who labels, and the first option is the one sent if the
  // manager does not choose (it used to be the manager themself, who created the job).
  const labelers = members
    .filter((m) => m.role === 'annotator' || m.role === 'manager')
    .sort((a, b) => Number(a.role === 'manager') - Number(b.role === 'manager'));
  clear($('#truth-annotator'), labelers.map((m) => h('option', { value: m.user }, `${m.username} (${m.role})`)));
  $('#truth-copy').hidden = !report.truths.length || !labelers.length;
}

async function truthRefresh(answer) {
  $('#truth-error').hidden = true;
  const report = answer ?? await get(`/api/jobs/${job.id}/ground-truth/`);
  truthSection(report);
  await truthControls(report);
}

function truthFailed(error) {
  $('#truth-error').textContent = error.message;
  $('#truth-error').hidden = false;
}

$('#truth-mark').addEventListener('submit', (e) => {
  e.preventDefault();
  post(`/api/jobs/${job.id}/ground-truth/`, { item_ids: [Number($('#truth-candidate').value)] })
    .then((answer) => truthRefresh(answer)).catch(truthFailed);
});
$('#truth-copy').addEventListener('submit', (e) => {
  e.preventDefault();
  post(`/api/jobs/${job.id}/ground-truth/copies/`, { item_id: Number($('#truth-item').value), annotator: Number($('#truth-annotator').value) })
    .then((copy) => { truthRefresh(); toast(`A copy was added to the job as image #${copy.item_id}, assigned to ${$('#truth-annotator').selectedOptions[0].textContent}.`); })
    .catch(truthFailed);
});

let eventsNext = null;

async function showEvents() {
  const figure = params.get('figure');
  if (!figure) return;
  const person = params.get('person');
  const day = params.get('day');
  const who = person ? names.get(Number(person)) ?? `user ${person}` : 'everyone';
  $('#events-title').textContent = `${FIGURES[figure] ?? figure}: ${who}${day ? `, ${day}` : ''}`;
  $('#events').hidden = false;
  clear($('#event-rows'));
  const query = new URLSearchParams({ figure, page_size: '100' });
  if (person) query.set('person', person);
  if (day) query.set('day', day);
  eventsNext = `/api/jobs/${job.id}/quality/events/?${query}`;
  await moreEvents();
  $('#events').scrollIntoView({ block: 'start' });
}

async function moreEvents() {
  if (!eventsNext) return;
  const page = await get(eventsNext);
  eventsNext = page.next;
  $('#events-more').hidden = !page.next;
  for (const event of page.results) {
    $('#event-rows').append(h('tr', { dataset: { item: event.item_id, seq: event.seq } },
      h('td', {}, event.image),
      h('td', {}, `#${event.seq}`),
      h('td', {}, event.type),
      h('td', {}, formatTime(event.created_at)),
      h('td', {}, String(event.value)),
      h('td', {}, h('a', { href: event.replay_url, class: 'replay-link' }, 'replay'))));
  }
  if (!$('#event-rows').children.length) $('#event-rows').append(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No events.')));
}

$('#events-more').addEventListener('click', () => moreEvents().catch(failed));

function failed(error) {
  $('#quality-error').textContent = error.message;
  $('#quality-error').hidden = false;
}

async function start() {
  const report = await get(`/api/jobs/${job.id}/quality/`);
  for (const person of report.people) names.set(person.id, person.username);
  const days = dayRange(report);
  $('#quality-note').textContent = `Counted from the job's events: every number opens the events behind it. Active time adds the gaps between a person's commands, each gap over ${report.idle_gap_seconds} s cut.`;
  const throughput = new Map(report.throughput.map((d) => [d.day, d]));
  clear($('#throughput'), days.length
    ? barChart({
      days, cls: 'throughput',
      series: ['accepted', 'rejected'].map((verdict) => ({
        cls: verdict, label: verdict, value: (day) => throughput.get(day)?.[verdict] ?? 0,
        href: (day) => eventsHref({ figure: `reviews_${verdict}`, day }),
      })),
    })
    : h('p', { class: 'muted' }, 'Nothing reviewed yet.'),
  h('p', { class: 'legend' }, h('span', { class: 'key accepted' }, 'accepted'), ' ', h('span', { class: 'key rejected' }, 'rejected')));
  clear($('#verdicts'), report.people.length ? verdictChart(report.people) : h('p', { class: 'muted' }, 'Nobody has labeled yet.'));
  clear($('#people'), report.people.map((person) => personCard(person, days)));
  await truthRefresh();
  await showEvents();
  document.body.dataset.ready = 'true';
}

start().catch(failed);
