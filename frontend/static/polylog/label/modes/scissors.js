// Scissors (S): intelligent scissors on the server (POST items/<id>/assist/scissors/). Click anchors along
// the object; between the last anchor and the pointer a live preview follows the strongest edges (at most
// one request in flight; moved meanwhile, the latest pointer is asked when it returns, at most ten times
// a second). A click adds an
// anchor (the preview up to it stays drawn as the outline so far); Backspace takes the last one back. Enter,
// or a click on the first anchor, closes: the server's closed outline through every anchor, simplified to
// the Simplify slider, becomes the proposal (label/proposal.js): drag its vertices, Enter accepts it as one
// add_polygon of the active label, Esc drops it. Nothing is sent to the item until it is accepted.

import { MODES, SNAP_PX } from '../constants.js';
import { round2 } from '../geometry.js';
import { Asker, Proposal } from '../proposal.js';

const LIVE_GAP_MS = 100; // the live preview asks at most ten times a second (the per-user rate allows more)

// Where a click or the pointer puts an anchor: on the image (just outside it: on its border), in hundredths.
function onImage(ctx, event) {
  const point = ctx.clamp(ctx.toImage(event));
  return point && ctx.clampHard(point).map(round2);
}

function nearFirst(state, ctx, event) {
  if (state.anchors.length < 3) return false;
  const [x, y] = ctx.toClient(state.anchors[0]);
  return Math.hypot(x - event.clientX, y - event.clientY) <= SNAP_PX;
}

const same = (a, b) => a[0] === b[0] && a[1] === b[1];

// A path answered from `from` to `to` is drawn as the stretch between those anchors, if it is still there
// and still straight (each answer, latest or not: one that beat a click fills that click's stretch).
function fillSegment(state, from, to, answer) {
  const points = answer.polygons[0]?.points;
  const segment = state.segments.find((s) => s.straight && same(s.from, from) && same(s.to, to));
  if (!points || !segment) return;
  segment.points = points;
  segment.straight = false;
}

const previewBody = (from, to) => ({ anchors: [from], pointer: to, close: false, tolerance: 0 });

// Ask for the edge-following path from the last anchor to the pointer (the live preview).
function askLive(state, ctx) {
  const last = state.anchors.at(-1);
  if (!last || !state.pointer || state.proposal.shown || state.closing) return;
  const generation = state.generation;
  const pointer = state.pointer;
  state.asker.ask(ctx, previewBody(last, pointer), {
    at: pointer,
    always: (answer) => fillSegment(state, last, pointer, answer),
    onAnswer(answer) {
      if (generation !== state.generation) return; // an anchor came or went since
      state.preview = { to: pointer, points: answer.polygons[0]?.points ?? [last, pointer] };
      ctx.redraw();
    },
  });
}

// A stretch clicked before its live preview came: its path is the preview asked for that very point (in
// flight or waiting, kept), else asked for now, before any newer preview. Only drawn: closing asks the
// server for the whole outline again.
function askSegment(state, ctx, from, to) {
  const body = previewBody(from, to);
  const asked = (b) => !b.close && same(b.anchors[0], from) && b.pointer && same(b.pointer, to);
  if (state.asker.keep(asked)) return;
  state.asker.askSure(ctx, body, { at: to, always: (answer) => fillSegment(state, from, to, answer) });
}

// Ask for the closed outline through every anchor; it becomes the proposal.
function close(state, ctx, withPointer) {
  const anchors = [...state.anchors];
  const pointer = withPointer && anchors.length === 2 && state.pointer ? state.pointer : null;
  if (anchors.length < 3 && !pointer) {
    ctx.refuse('too_few_anchors', 'Click at least 3 anchors around the object, then close on the first one (or Enter).', anchors.at(-1) ?? null);
    return;
  }
  askClose(state, ctx, { anchors, pointer, close: true, tolerance: ctx.assistOptions().simplify });
}

// The close goes after the stretches asked before it, never dropped for a newer preview.
function askClose(state, ctx, body) {
  state.asker.dropWaiting();
  state.closing = true;
  state.asker.askSure(ctx, body, {
    at: body.anchors[0],
    onAnswer(answer) {
      state.closing = false;
      state.proposal.show(answer.polygons[0]);
      state.closed = body; // the slider asks again with it
      clearAnchors(state);
      ctx.redraw();
    },
    onError() {
      state.closing = false; // the anchors stay: close again, or change them
    },
  });
}

async function accept(state, ctx) {
  await state.proposal.accept(ctx);
  if (!state.proposal.shown) state.closed = null;
}

function clearAnchors(state) {
  state.anchors = [];
  state.segments = [];
  state.preview = null;
  state.generation += 1;
}

export default {
  name: MODES.SCISSORS,
  hint: 'Scissors: click anchors along the object (the line follows its edges) · first anchor or Enter closes · drag the proposal’s vertices · Enter accepts (active label) · Esc drops · Backspace removes the last anchor',

  onSetup() {
    // anchors: the clicked points; segments[i]: {from, to, points, straight}, the edge path drawn from
    // anchor i to i + 1 (the live preview when the click came, else a straight line until its own path
    // comes); preview: {to, points}, the latest live answer; generation: bumped when the anchors change
    // (older live answers are not used). One asker: at most one request in flight, previews, stretches
    // and the close alike.
    return {
      anchors: [],
      segments: [],
      preview: null,
      pointer: null,
      hot: false,
      generation: 0,
      closing: false,
      closed: null,
      press: null,
      proposal: new Proposal(),
      asker: new Asker('scissors', { gapMs: LIVE_GAP_MS }),
    };
  },

  onMouseDown(state, ctx, event) {
    if (event.button !== 0 || state.closing) return false;
    if (state.proposal.press(ctx, event)) return true;
    state.press = { client: [event.clientX, event.clientY] };
    return true;
  },

  onMouseMove(state, ctx, event) {
    if (state.proposal.move(ctx, event)) return;
    if (state.proposal.shown) return;
    state.pointer = ctx.clampHard(ctx.toImage(event)).map(round2);
    state.hot = nearFirst(state, ctx, event);
    askLive(state, ctx);
    ctx.redraw();
  },

  onMouseUp(state, ctx, event) {
    if (state.proposal.release(ctx)) return;
    const press = state.press;
    state.press = null;
    if (!press || state.closing) return;
    if (state.proposal.shown) {
      ctx.refuse('proposal_open', 'Accept the proposal (Enter) or drop it (Esc) before starting another outline.', ctx.toImage(event));
      return;
    }
    if (nearFirst(state, ctx, event)) return close(state, ctx, false);
    const point = onImage(ctx, event);
    if (!point) {
      ctx.refuse('outside_image', 'That is outside the image: click on it, or just beside its edge.', ctx.toImage(event));
      return;
    }
    const last = state.anchors.at(-1);
    if (last && last[0] === point[0] && last[1] === point[1]) return; // a double click: one anchor
    if (last) {
      // The preview drawn up to here is this stretch of the outline (the server follows the edges again
      // when closing); a click that came before its answer is drawn straight until its own path comes.
      const preview = state.preview;
      const fits = preview && Math.hypot(preview.to[0] - point[0], preview.to[1] - point[1]) * ctx.scale() < 2;
      state.segments.push({ from: last, to: point, points: fits ? preview.points : [last, point], straight: !fits });
      if (!fits) askSegment(state, ctx, last, point);
    }
    state.anchors.push(point);
    state.preview = null;
    state.generation += 1;
    ctx.redraw();
  },

  // action: this tool's row of the shortcut table (shortcuts.js) the key matched.
  onKeyDown(state, ctx, event, action) {
    if (state.proposal.accepting) return false;
    if (action === 'accept_proposal') {
      if (state.proposal.shown) accept(state, ctx);
      else if (state.anchors.length && !state.closing) close(state, ctx, true);
      else return false;
      return true;
    }
    if (action === 'drop_proposal') {
      if (state.proposal.shown) {
        state.proposal.drop(ctx);
        state.closed = null;
      } else if (state.anchors.length || state.closing) {
        state.asker.cancel();
        state.closing = false;
        clearAnchors(state);
      } else return false;
      ctx.redraw();
      return true;
    }
    if (action === 'remove_last_anchor') {
      // In this tool Backspace is the outline's: it never goes on to delete the selected shape.
      if (state.anchors.length && !state.closing && !state.proposal.shown) {
        state.anchors.pop();
        state.segments.pop();
        state.preview = null;
        state.generation += 1;
        askLive(state, ctx);
        ctx.redraw();
      }
      return true;
    }
    return false;
  },

  // A slider let go: the proposal shown (not yet edited by hand) is asked for again at the new value.
  onOptionsChange(state, ctx) {
    if (!state.closed || !state.proposal.shown || state.proposal.edited) return;
    askClose(state, ctx, { ...state.closed, tolerance: ctx.assistOptions().simplify });
  },

  onStop(state, ctx) {
    state.asker.cancel();
    state.proposal.drop(ctx);
    state.closing = false;
    state.closed = null;
    clearAnchors(state);
  },

  render(state, ctx) {
    const anchors = state.anchors;
    const path = anchors.length ? [anchors[0], ...state.segments.flatMap((segment) => segment.points.slice(1))] : null;
    let live = null;
    if (anchors.length && state.pointer && !state.closing) {
      const preview = state.preview;
      const fresh = preview && preview.to[0] === state.pointer[0] && preview.to[1] === state.pointer[1];
      // No answer yet: a straight line; an answer that lags the pointer: joined to it by a straight bit.
      if (!preview) live = [anchors.at(-1), state.pointer];
      else live = fresh ? preview.points : [...preview.points, state.pointer];
    }
    return { assist: { anchors, path, live, firstHot: state.hot, proposal: state.proposal.overlay(ctx) } };
  },
};
