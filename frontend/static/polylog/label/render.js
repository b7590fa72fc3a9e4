// SVG rendering of an item: the image, closed shapes in their label colours, drafts, the active mode's
// overlay and other people's cursors. Elements are kept per shape id and touched only when that shape's
// points, label or selection change, so a drag redraws one polygon, not all of them. On a dense image
// (docs/ui.md, "Dense images") zoom and pan cost what is on screen: vertex handles are drawn for the
// selected shape and the one under the pointer only, a shape off screen is not displayed, a tag too small
// to read beside its shape is not either, and the on-screen size (--px) is set on the few elements that
// use it, never on a layer holding every shape (a custom property changed there restyles all of them).

import { boxOf } from './pick.js';
import { simplify } from './simplify.js';

const SVG = 'http://www.w3.org/2000/svg';
const MIN_SCALE = 0.02;
const MAX_SCALE = 40;
const MARK_MS = 1600; // the .refusal-mark animation
const CULL_MARGIN_PX = 64; // a shape this close to the screen's edge is drawn already
// A shape smaller than this on screen (its longer side) shows no number tag unless it has its handles: the
// tag ("#120", 13 px high, about 30 px wide) needs room beside its shape, and on an image zoomed out to show
// hundreds of shapes, a tag on each covers its neighbours and costs a text layout per shape at every zoom.
const TAG_MIN_PX = 48;
const TIGHT_PX = 12; // handles this far apart on screen, on average, or closer are drawn small
// A zoom step or a pan frame moves the drawn picture as a whole (the quick view, see moveView); the view
// is drawn again once the gesture rests this long, or during it when shapes left out would show, or the
// picture has grown this many times (magnified, its raster is soft), but not more often than every
// REDRAW_MS. Eight notches of a wheel zoom 3.3 times: a gesture that size is drawn again once, at rest.
const SETTLE_MS = 150;
const SOFT_SCALE = 4;
const REDRAW_MS = 1000;
const NO_QUICK = { s: 1, dx: 0, dy: 0 };
const DETAIL_MIN_VERTICES = 64; // a shape with more vertices is drawn simplified when zoomed out (outline)
const DETAIL_TOLERANCE_PX = 0.5;
const FULL = Infinity; // the detail level of an outline drawn with every vertex

function el(tag, attrs = {}, parent = null) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  if (parent) parent.append(element);
  return element;
}

const pointsAttr = (points) => points.map(([x, y]) => `${x},${y}`).join(' ');

// Where a shape's number tag goes: up and to the left of its topmost vertex (the leftmost of those), out of
// the way of the shape's inside and of its handles.
function tagAnchor(points) {
  let best = points[0];
  for (const point of points) if (point[1] < best[1] || (point[1] === best[1] && point[0] < best[0])) best = point;
  return best;
}

// The "#3" tag of a shape or draft (no tag for a server without numbers); kept in step with its points.
// With labels on the canvas (L, view_controls.js) it reads "#3 cat".
const tagText = (number, name = null) => (number === null || number === undefined ? (name ?? '') : name ? `#${number} ${name}` : `#${number}`);

function placeTag(tag, text, at) {
  if (tag.textContent !== text) tag.textContent = text;
  if (!at) return;
  tag.setAttribute('x', at[0]);
  tag.setAttribute('y', at[1]);
}

const newTag = () => el('text', { class: 'number-tag', 'text-anchor': 'end', dx: '-0.45em', dy: '-0.4em' });

// A colour per person, stable across reloads.
export function personColor(userId) {
  const hue = (Number(userId) * 137.508) % 360;
  return `hsl(${hue} 85% 60%)`;
}

export class Renderer {
  // preview: {url, side} of the image at a screen's size (frontend/views.py), or null.
  constructor(svg, { width, height, imageUrl, preview = null }) {
    this.svg = svg;
    this.imageUrl = imageUrl;
    this.imagePreview = preview;
    this.full = { loaded: !preview, loading: false }; // the stored file, once the zoom needs it
    this.width = width;
    this.height = height;
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.viewport = el('g', { class: 'viewport' }, svg);
    this.image = el('image', { href: preview?.url ?? imageUrl, x: 0, y: 0, width, height, preserveAspectRatio: 'none' }, this.viewport);
    el('rect', { class: 'image-frame', x: 0, y: 0, width, height }, this.viewport);
    this.shapeLayer = el('g', { class: 'shapes' }, this.viewport);
    this.draftLayer = el('g', { class: 'drafts' }, this.viewport);
    this.overlayLayer = el('g', { class: 'overlay' }, this.viewport);
    // Issues pinned to the image (label/issues.js): a numbered marker each, above the shapes, clickable.
    this.issueLayer = el('g', { class: 'issues' }, this.viewport);
    this.issueEls = new Map();
    this.onIssueClick = null;
    this.listenToIssues();
    this.cursorLayer = el('g', { class: 'cursors' }, this.viewport);
    this.preview = el('polyline', { class: 'preview', points: '' }, this.overlayLayer);
    // Snapping (snap.js): the way a click would trace along a neighbour, and the point a vertex snaps onto.
    this.tracePreview = el('polyline', { class: 'trace-preview', points: '' }, this.overlayLayer);
    this.snapMark = el('circle', { class: 'snap-indicator' }, this.overlayLayer);
    this.shapeEls = new Map();
    this.handled = new Set(); // entries drawn with their handles (the selected shape, the hovered one)
    // The stage's size, kept by an observer: read in a frame after the transform changed, it would force
    // a layout of every shape.
    this.size = [svg.clientWidth, svg.clientHeight];
    new ResizeObserver(([entry]) => {
      this.size = [entry.contentRect.width, entry.contentRect.height];
      this.cullAll();
    }).observe(svg);
    this.draftEls = new Map();
    this.cursorEls = new Map();
    this.onViewChange = null;
    this.drawn = { scale: 1, tx: 0, ty: 0 }; // the view the shapes were last drawn for
    this.quick = NO_QUICK; // the quick view's transform of the canvas, while a gesture goes on
    this.settleTimer = 0;
    this.drawnAt = -Infinity;
  }

  // The canvas's box on screen as laid out: during a quick view, the box it had when the view began (its
  // transformed box would be off by the browser's rounding of the transform).
  box() {
    return this.quick === NO_QUICK ? this.svg.getBoundingClientRect() : this.quickBox;
  }

  // Image pixels of a pointer event (or any clientX/clientY).
  toImage(clientX, clientY) {
    const rect = this.box();
    return [(clientX - rect.left - this.tx) / this.scale, (clientY - rect.top - this.ty) / this.scale];
  }

  // Client coordinates of an image point (for popups placed where something happened).
  toClient([x, y]) {
    const rect = this.box();
    return [rect.left + this.tx + x * this.scale, rect.top + this.ty + y * this.scale];
  }

  // A zoom step or a pan frame (zoomAt, panBy): the picture drawn for the last view is moved as a whole, a
  // CSS transform of the canvas that the compositor applies without restyling, laying out or painting any
  // shape, so a step costs the same with 1,000 shapes as with none. The view is drawn again (applyView:
  // culling, tags, crisp outlines) once the gesture rests for SETTLE_MS, and before then only when it must
  // (the screen reaches past the part of the image the shapes were drawn for, with its margin, while some
  // shapes were left out, or the picture was magnified SOFT_SCALE times) and REDRAW_MS have passed since
  // the last drawing: a redraw repaints every shape on screen (10-15 ms with 1,000), and a gesture is
  // mostly steps that don't. As with Leaflet's zoom, a picture magnified less than that is soft, and handles
  // and tags are the size they were drawn at, until the gesture rests.
  moveView() {
    if (this.quick === NO_QUICK) this.quickBox = this.svg.getBoundingClientRect();
    const drawn = this.drawn;
    const s = this.scale / drawn.scale;
    this.quick = { s, dx: this.tx - s * drawn.tx, dy: this.ty - s * drawn.ty };
    this.svg.style.transform = `translate(${this.quick.dx}px, ${this.quick.dy}px) scale(${s})`;
    clearTimeout(this.settleTimer);
    const needed = s >= SOFT_SCALE || (this.culled > 0 && !this.within(this.drawnBox));
    if (needed && performance.now() - this.drawnAt >= REDRAW_MS) {
      this.applyView({ resting: false });
      this.settleTimer = setTimeout(() => this.applyView(), SETTLE_MS);
      return;
    }
    this.settleTimer = setTimeout(() => this.applyView(), SETTLE_MS);
    this.onViewChange?.(this);
  }

  // Whether the part of the image on screen now lies inside `box` ([left, top, right, bottom]).
  within(box) {
    const left = -this.tx / this.scale;
    const top = -this.ty / this.scale;
    return !!box && left >= box[0] && top >= box[1] && left + this.size[0] / this.scale <= box[2] && top + this.size[1] / this.scale <= box[3];
  }

  // End a quick view: the canvas back in its box (the view itself is drawn by applyView).
  dropQuick() {
    clearTimeout(this.settleTimer);
    if (this.quick !== NO_QUICK) {
      this.svg.style.transform = '';
      this.quick = NO_QUICK;
    }
  }

  // Draw the view as it is now (and end a quick view). The redraw in the middle of a gesture (resting:
  // false) leaves the tags as they are, shown, hidden and sized: with every shape on screen, showing the
  // tags of the hundreds that grew past TAG_MIN_PX was most of its cost, and the redraw at rest shows them.
  applyView({ resting = true } = {}) {
    this.dropQuick();
    this.tagsFrozen = !resting;
    this.drawn = { scale: this.scale, tx: this.tx, ty: this.ty };
    this.drawnAt = performance.now();
    this.viewport.setAttribute('transform', `translate(${this.tx} ${this.ty}) scale(${this.scale})`);
    // Handles and tags keep their size on screen: CSS sizes them in multiples of --px, set only where
    // they are drawn (drafts, the overlay, the handled shapes, the tags on screen).
    this.px = String(1 / this.scale);
    this.draftLayer.style.setProperty('--px', this.px);
    this.overlayLayer.style.setProperty('--px', this.px);
    for (const entry of this.handled) {
      entry.g.style.setProperty('--px', this.px);
      this.tighten(entry);
    }
    this.cullAll();
    this.showImage();
    for (const cursor of this.cursorEls.values()) this.placeCursor(cursor);
    for (const marker of this.issueEls.values()) this.placeCursor(marker);
    this.onViewChange?.(this);
  }

  // The image at the detail the zoom needs: the preview while the screen shows no more of the image's
  // pixels than the preview has, the stored file once zoomed in further. The file is fetched the first
  // time it is needed and shown once decoded; the preview stays on screen until then.
  showImage() {
    const preview = this.imagePreview;
    if (!preview) return;
    const fullNeeded = this.scale * Math.max(this.width, this.height) > preview.side;
    if (fullNeeded && !this.full.loaded) {
      if (!this.full.loading) {
        this.full.loading = true;
        const file = new Image();
        file.src = this.imageUrl;
        file.decode().then(
          () => {
            this.full.loaded = true;
            this.showImage();
          },
          () => (this.full.loading = false), // asked for again at the next drawing
        );
      }
      return;
    }
    const href = fullNeeded ? this.imageUrl : preview.url;
    if (this.image.getAttribute('href') !== href) this.image.setAttribute('href', href);
  }

  // The part of the image on screen, in image pixels, with a margin: [left, top, right, bottom].
  visibleBox() {
    const margin = CULL_MARGIN_PX / this.scale;
    const left = -this.tx / this.scale;
    const top = -this.ty / this.scale;
    return [left - margin, top - margin, left + this.size[0] / this.scale + margin, top + this.size[1] / this.scale + margin];
  }

  // Handles closer on screen than their size (a small shape zoomed out) are drawn small: .tight.
  tighten(entry) {
    const tight = entry.spacing * this.scale < TIGHT_PX;
    if (tight !== entry.tight) {
      entry.g.classList.toggle('tight', tight);
      entry.tight = tight;
    }
  }

  cullAll() {
    const visible = this.visibleBox();
    this.drawnBox = visible; // the part of the image the shapes are drawn for, margin included
    let culled = 0;
    for (const entry of this.shapeEls.values()) {
      this.cull(entry, visible);
      if (entry.culled) culled += 1;
    }
    this.culled = culled; // shapes not displayed, as of the last drawn view
  }

  // A shape off screen is not displayed (nothing of it is styled or painted); its tag shows when the shape
  // is big enough on screen to read it beside, or has its handles.
  cull(entry, visible = this.visibleBox()) {
    const box = entry.box;
    const off = !box || box[2] < visible[0] || box[0] > visible[2] || box[3] < visible[1] || box[1] > visible[3];
    if (off !== entry.culled) {
      entry.g.style.display = off ? 'none' : '';
      entry.culled = off;
    }
    if (!off) this.outline(entry);
    if (this.tagsFrozen) return;
    const tagShown = !off && (entry.handles || Math.max(box[2] - box[0], box[3] - box[1]) * this.scale >= TAG_MIN_PX);
    if (tagShown !== entry.tagShown) {
      if (tagShown || entry.tag) this.tagOf(entry).style.display = tagShown ? '' : 'none';
      entry.tagShown = tagShown;
    }
    if (tagShown && entry.tagPx !== this.px) {
      entry.tag.style.setProperty('--px', this.px);
      entry.tagPx = this.px;
    }
  }

  // A shape's outline at the view's detail: in full for a shape with its handles or with few vertices;
  // else simplified (Douglas-Peucker) to half a screen pixel for the zoom's power of two, kept per power,
  // so a zoom draws an outline again only when it crosses one, and a zoomed-out shape of thousands of
  // vertices is drawn with the few that show.
  outline(entry) {
    const points = entry.points;
    const level = entry.handles || points.length <= DETAIL_MIN_VERTICES ? FULL : Math.floor(Math.log2(this.scale));
    if (level === entry.level) return;
    entry.level = level;
    let drawn = points;
    if (level !== FULL) {
      entry.detail ??= new Map();
      if (!entry.detail.has(level)) {
        // the closed ring as a polyline back to its first point; at the top of the power, the most magnified
        const ring = simplify([...points, points[0]], DETAIL_TOLERANCE_PX / 2 ** (level + 1)).slice(0, -1);
        entry.detail.set(level, ring.length >= 3 ? ring : points);
      }
      drawn = entry.detail.get(level);
    }
    entry.polygon.setAttribute('points', pointsAttr(drawn));
  }

  // A shape's tag, made on first use: under the handles (a handle is never hidden by it); it lets the
  // pointer through (CSS).
  tagOf(entry) {
    if (!entry.tag) {
      entry.tag = newTag();
      entry.g.insertBefore(entry.tag, entry.vertices);
      placeTag(entry.tag, entry.tagText, entry.tagAt);
    }
    return entry.tag;
  }

  // A shape's group of vertex handles, made on first use.
  verticesOf(entry) {
    entry.vertices ??= el('g', { class: 'vertices', fill: entry.color ?? '' }, entry.g);
    return entry.vertices;
  }

  fit() {
    this.dropQuick(); // the stage may have changed size since a gesture began (fullscreen)
    const rect = this.box();
    const margin = 24;
    const scale = Math.min((rect.width - 2 * margin) / this.width, (rect.height - 2 * margin) / this.height);
    this.scale = Math.max(MIN_SCALE, Math.min(MAX_SCALE, scale > 0 ? scale : 1));
    this.tx = (rect.width - this.width * this.scale) / 2;
    this.ty = (rect.height - this.height * this.scale) / 2;
    this.applyView();
  }

  // Zoom by `factor`, keeping the image point under (clientX, clientY) where it is on screen.
  zoomAt(factor, clientX, clientY) {
    const rect = this.box();
    const cx = clientX ?? rect.left + rect.width / 2;
    const cy = clientY ?? rect.top + rect.height / 2;
    const [ix, iy] = this.toImage(cx, cy);
    this.scale = Math.max(MIN_SCALE, Math.min(MAX_SCALE, this.scale * factor));
    this.tx = cx - rect.left - ix * this.scale;
    this.ty = cy - rect.top - iy * this.scale;
    this.moveView();
  }

  // A view-only filter on the image (brightness, contrast, gamma: view_controls.js); never on the shapes.
  setImageFilter(filter) {
    this.imageFilter = filter;
    this.image.style.filter = filter;
  }

  panBy(dx, dy) {
    this.tx += dx;
    this.ty += dy;
    this.moveView();
  }

  // view: the store's view; ui: {labels (Map id -> {name, color}), labelsVersion, selectedId, selectedVertex
  // ({shapeId, index} or null), hidden (Set), me, overlay: {override?: {shapeId, points}, preview?: [[x, y],
  // ...], firstVertexHot?: bool, snap?: {kind, shapeId, point} (snap.js), trace?: [[x, y], ...]}}
  render(view, ui) {
    const overlay = ui.overlay || {};
    const seen = new Set();
    for (const shape of view.shapes.values()) {
      seen.add(shape.id);
      const points = overlay.override?.shapeId === shape.id ? overlay.override.points : shape.points;
      const label = ui.labels.get(shape.label_class_id);
      const color = label ? label.color : '#9e9e9e';
      let entry = this.shapeEls.get(shape.id);
      if (!entry) {
        const g = el('g', { class: 'shape', 'data-shape-id': shape.id }, this.shapeLayer);
        // The tag and the handles' group are made when first shown (tagOf, verticesOf): most shapes of a
        // dense image never need them.
        entry = { g, polygon: el('polygon', {}, g), vertices: null, tag: null, points: null, color: null, state: '', number: undefined, handles: false, culled: undefined, tagShown: undefined };
        this.shapeEls.set(shape.id, entry);
      }
      const tagName = ui.labelsOnCanvas ? (label?.name ?? '') : null;
      // Handles (a circle per vertex) on the selected shape and the one under the pointer only.
      const handles = shape.id === ui.selectedId || shape.id === ui.hoverId;
      if (handles !== entry.handles) {
        entry.handles = handles;
        if (handles) {
          this.handled.add(entry);
          entry.g.style.setProperty('--px', String(1 / this.scale));
        } else {
          this.handled.delete(entry);
          entry.g.style.removeProperty('--px');
          entry.vertices?.replaceChildren();
        }
        entry.state = ''; // the active vertex is marked again
        entry.culled = undefined; // and its tag shown or not again, its outline drawn in full or not
        entry.level = undefined;
        if (handles) this.setVertices(this.verticesOf(entry), points);
      }
      if (handles) this.tighten(entry);
      if (entry.points !== points || entry.number !== shape.number || entry.tagName !== tagName) {
        if (entry.points !== points) {
          entry.level = undefined; // its outline is drawn again (outline, from cull below)
          entry.detail = null;
          if (handles) this.setVertices(this.verticesOf(entry), points);
          entry.box = boxOf(points);
          entry.spacing = points.reduce((sum, p, i) => sum + Math.hypot(p[0] - points[(i + 1) % points.length][0], p[1] - points[(i + 1) % points.length][1]), 0) / points.length;
          if (handles) this.tighten(entry);
          entry.culled = undefined;
        }
        entry.tagText = tagText(shape.number, tagName);
        entry.tagAt = points.length ? tagAnchor(points) : null;
        if (entry.tag) placeTag(entry.tag, entry.tagText, entry.tagAt);
        entry.tagName = tagName;
        entry.g.dataset.number = shape.number ?? '';
        entry.points = points;
        entry.number = shape.number;
      }
      if (entry.color !== color) {
        entry.polygon.setAttribute('fill', color);
        entry.polygon.setAttribute('stroke', color);
        entry.vertices?.setAttribute('fill', color);
        entry.color = color;
        entry.g.dataset.labelClassId = shape.label_class_id;
      }
      const active = ui.selectedVertex?.shapeId === shape.id ? ui.selectedVertex.index : -1;
      // Parts of one object (a group) share a dashed outline; shapes picked together (Shift+click) are
      // outlined as picked.
      const groupId = shape.group_id ?? '';
      const picked = ui.picked?.has(shape.id) && ui.selectedId !== shape.id;
      const state = `${ui.selectedId === shape.id ? 's' : ''}${ui.hidden.has(shape.id) ? 'h' : ''}${picked ? 'p' : ''}${active}|${groupId}`;
      if (entry.state !== state) {
        entry.g.classList.toggle('selected', ui.selectedId === shape.id);
        entry.g.classList.toggle('hidden', ui.hidden.has(shape.id));
        entry.g.classList.toggle('group-picked', !!picked);
        entry.g.classList.toggle('group-linked', !!groupId);
        if (groupId) entry.g.dataset.groupId = groupId;
        else delete entry.g.dataset.groupId;
        for (const circle of entry.vertices?.children ?? []) circle.classList.toggle('active', Number(circle.dataset.index) === active);
        entry.state = state;
      }
    }
    for (const [id, entry] of this.shapeEls) {
      if (!seen.has(id)) {
        entry.g.remove();
        this.shapeEls.delete(id);
        this.handled.delete(entry);
      }
    }
    this.cullAll(); // new and changed shapes, and a stage that changed size
    // The selected shape is drawn last, on top, so its handles can always be grabbed.
    const selected = this.shapeEls.get(ui.selectedId);
    if (selected && this.shapeLayer.lastElementChild !== selected.g) this.shapeLayer.append(selected.g);
    this.renderDrafts(view, ui, overlay);
    this.preview.setAttribute('points', overlay.preview ? pointsAttr(overlay.preview) : '');
    this.preview.style.stroke = overlay.previewColor ?? '';
    this.tracePreview.setAttribute('points', overlay.trace ? pointsAttr(overlay.trace) : '');
    const snap = overlay.snap;
    this.snapMark.classList.toggle('on', !!snap);
    if (snap) {
      this.snapMark.setAttribute('cx', snap.point[0]);
      this.snapMark.setAttribute('cy', snap.point[1]);
      this.snapMark.dataset.kind = snap.kind;
      this.snapMark.dataset.shapeId = snap.shapeId;
    }
  }

  setVertices(group, points) {
    while (group.children.length > points.length) group.lastElementChild.remove();
    while (group.children.length < points.length) el('circle', { class: 'vertex', 'data-index': group.children.length }, group);
    points.forEach(([x, y], i) => {
      const circle = group.children[i];
      circle.setAttribute('cx', x);
      circle.setAttribute('cy', y);
    });
  }

  renderDrafts(view, ui, overlay) {
    const seen = new Set();
    for (const draft of view.drafts.values()) {
      seen.add(draft.id);
      const mine = draft.actor === ui.me.id;
      let entry = this.draftEls.get(draft.id);
      if (!entry) {
        const color = mine ? '#ffeb3b' : personColor(draft.actor);
        const g = el('g', { class: `draft ${mine ? 'mine' : 'others'}`, 'data-draft-id': draft.id, 'data-actor': draft.actor }, this.draftLayer);
        entry = { g, line: el('polyline', { stroke: color }, g), vertices: el('g', { class: 'vertices', fill: color, stroke: '#000' }, g), points: null, number: undefined };
        entry.tag = newTag();
        g.insertBefore(entry.tag, entry.vertices);
        this.draftEls.set(draft.id, entry);
      }
      if (entry.points !== draft.points || entry.number !== draft.number) {
        if (entry.points !== draft.points) {
          entry.line.setAttribute('points', pointsAttr(draft.points));
          this.setVertices(entry.vertices, draft.points);
          entry.vertices.firstElementChild?.classList.add('first');
        }
        placeTag(entry.tag, tagText(draft.number), draft.points.length ? tagAnchor(draft.points) : null);
        entry.g.dataset.number = draft.number ?? '';
        entry.points = draft.points;
        entry.number = draft.number;
      }
      entry.g.classList.toggle('closable', mine && !!overlay.firstVertexHot);
    }
    for (const [id, entry] of this.draftEls) {
      if (!seen.has(id)) {
        entry.g.remove();
        this.draftEls.delete(id);
      }
    }
  }

  // A short-lived ring where a refused command happened (its message is in the notification area).
  mark([x, y]) {
    const ring = el('circle', { class: 'refusal-mark', cx: x, cy: y }, this.overlayLayer);
    setTimeout(() => ring.remove(), MARK_MS);
  }

  // Other people's cursors: {user: {id, username}, x, y}; null x removes.
  setCursor(user, x, y) {
    let cursor = this.cursorEls.get(user.id);
    if (x === null) {
      cursor?.g.remove();
      this.cursorEls.delete(user.id);
      return;
    }
    if (!cursor) {
      const color = personColor(user.id);
      const g = el('g', { class: 'cursor', 'data-user': user.username }, this.cursorLayer);
      el('path', { d: 'M0 0 L0 16 L4.5 12 L8 19 L10.5 18 L7 11 L12.5 11 Z', fill: color }, g);
      const text = el('text', { x: 14, y: 24 }, g);
      text.textContent = user.username;
      cursor = { g, x, y };
      this.cursorEls.set(user.id, cursor);
    }
    cursor.x = x;
    cursor.y = y;
    this.placeCursor(cursor);
  }

  placeCursor(cursor) {
    cursor.g.setAttribute('transform', `translate(${cursor.x} ${cursor.y}) scale(${1 / this.scale})`);
  }

  // Issue markers: a press on one opens its thread (onIssueClick) and goes no further, so no tool draws,
  // selects or pans under a marker.
  listenToIssues() {
    const markerOf = (event) => event.target.closest?.('.issue-marker');
    for (const type of ['pointerdown', 'click', 'dblclick', 'contextmenu']) {
      this.issueLayer.addEventListener(type, (event) => {
        const marker = markerOf(event);
        if (!marker) return;
        event.stopPropagation();
        if (type === 'contextmenu') event.preventDefault();
        if (type === 'click') this.onIssueClick?.(marker.dataset.issueId);
      });
    }
  }

  // The issues' markers: [{id, number, x, y, status}], the open thread's issue marked `current`. A marker
  // keeps its size on screen (placed as a cursor is); elements are kept per issue id.
  renderIssues(issues, currentId = null) {
    const seen = new Set();
    for (const issue of issues) {
      seen.add(issue.id);
      let marker = this.issueEls.get(issue.id);
      if (!marker) {
        const g = el('g', { class: 'issue-marker', role: 'button', 'data-issue-id': issue.id }, this.issueLayer);
        // The pin's tip is on the point; only its round head takes the pointer, so a vertex under the tip
        // can still be picked and dragged.
        el('path', { class: 'pin', d: 'M0 0 L-6 -10 A11 11 0 1 1 6 -10 Z' }, g);
        el('circle', { class: 'hit', cx: 0, cy: -19, r: 12 }, g);
        const text = el('text', { x: 0, y: -19, 'text-anchor': 'middle', 'dominant-baseline': 'central' }, g);
        marker = { g, text, x: null, y: null, key: '' };
        this.issueEls.set(issue.id, marker);
      }
      const key = `${issue.number}|${issue.status}|${issue.id === currentId}`;
      if (marker.key !== key) {
        marker.key = key;
        marker.text.textContent = String(issue.number);
        marker.g.setAttribute('class', `issue-marker ${issue.status}${issue.id === currentId ? ' current' : ''}`);
        marker.g.setAttribute('data-number', String(issue.number));
        marker.g.setAttribute('data-status', issue.status);
        marker.g.setAttribute('aria-label', `Issue ${issue.number} (${issue.status})`);
      }
      if (marker.x !== issue.x || marker.y !== issue.y) {
        marker.x = issue.x;
        marker.y = issue.y;
        this.placeCursor(marker);
      }
    }
    for (const [id, marker] of this.issueEls) {
      if (seen.has(id)) continue;
      marker.g.remove();
      this.issueEls.delete(id);
    }
  }
}
