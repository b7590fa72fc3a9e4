// Copy and paste of shapes (docs/ui.md, "Copy and paste"). Ctrl+C keeps the selected and picked shapes
// (points, label, group) in the browser's localStorage under the job, so a paste works on this image, on
// another image of the job and after a reload. Ctrl+V sends them as ONE `paste_shapes` command (one undo
// takes the whole paste back). Copies keep their shape: on the image they were copied from, each paste is
// moved 10 px further right and down so it shows beside the last; on another image they keep their
// coordinates. Then the whole paste is moved as one to fit inside the image, and scaled down (about its
// top left corner, evenly) when it is bigger than the image: clamped by moving, never clipped, so every
// copy stays the polygon it was. Copied groups get new group ids: the copies are their own object.
// "Carry to next image" (Shift+N) copies, goes to the next image (asking to save as leaving does) and
// pastes there on arrival.

import { round2 } from './geometry.js';

export const PASTE_OFFSET = 10; // image pixels right and down, per paste on the image copied from

const clipboardKey = (jobId) => `polylog.job.${jobId}.clipboard`;
const carryKey = (jobId) => `polylog.job.${jobId}.carry`;

function bounds(shapes) {
  const xs = shapes.flatMap((s) => s.points.map((p) => p[0]));
  const ys = shapes.flatMap((s) => s.points.map((p) => p[1]));
  return { left: Math.min(...xs), top: Math.min(...ys), right: Math.max(...xs), bottom: Math.max(...ys) };
}

// Where copies land on an image of width x height: shifted by (dx, dy), scaled down to fit if bigger than
// the image, then moved as a whole to lie inside it. Returns new point lists, rounded to 0.01 px.
export function placed(shapes, width, height, dx = 0, dy = 0) {
  const box = bounds(shapes);
  const scale = Math.min(1, width / (box.right - box.left || 1), height / (box.bottom - box.top || 1));
  const left = box.left + dx;
  const top = box.top + dy;
  const w = (box.right - box.left) * scale;
  const h = (box.bottom - box.top) * scale;
  // The top left corner after the shift, moved just enough for the whole paste to lie on the image.
  const x0 = Math.min(Math.max(left, 0), width - w);
  const y0 = Math.min(Math.max(top, 0), height - h);
  const clampTo = (v, high) => Math.min(high, Math.max(0, round2(v)));
  return shapes.map((shape) =>
    shape.points.map(([x, y]) => [clampTo(x0 + (x - box.left) * scale, width), clampTo(y0 + (y - box.top) * scale, height)]),
  );
}

export class Clipboard {
  // page: {job, item (its id and image size), shapes() -> the selected and picked shapes, send, refuse,
  // notify(text), newId, select(ids) (the pasted copies become the selection), next() (go to the next image)}
  constructor(page) {
    this.page = page;
  }

  read() {
    try {
      const held = JSON.parse(localStorage.getItem(clipboardKey(this.page.job.id)) ?? 'null');
      return held?.shapes?.length ? held : null;
    } catch {
      return null; // a value another version wrote: as if empty
    }
  }

  write(held) {
    localStorage.setItem(clipboardKey(this.page.job.id), JSON.stringify(held));
  }

  copy({ quiet = false } = {}) {
    const shapes = this.page.shapes();
    if (!shapes.length) {
      this.page.refuse('no_selection', 'Select a shape (Shift+click for more) to copy it.', null);
      return false;
    }
    const copied = shapes.map((s) => ({ label_class_id: s.label_class_id, points: s.points, group_id: s.group_id ?? null }));
    this.write({ item_id: this.page.item.id, pastes: 0, shapes: copied });
    if (!quiet) this.page.notify(`Copied ${copied.length === 1 ? '1 shape' : `${copied.length} shapes`}: Ctrl+V pastes, here or on another image of the job.`);
    return true;
  }

  paste() {
    const held = this.read();
    if (!held) return this.page.refuse('clipboard_empty', 'Nothing copied yet: select shapes and press Ctrl+C.', null);
    const { width, height } = this.page.item.image;
    const here = held.item_id === this.page.item.id;
    const shift = here ? PASTE_OFFSET * (held.pastes + 1) : 0;
    const points = placed(held.shapes, width, height, shift, shift);
    const groups = new Map(); // copied group id -> the copies' own
    const shapes = held.shapes.map((shape, n) => {
      const copy = { shape_id: this.page.newId(), label_class_id: shape.label_class_id, points: points[n] };
      if (shape.group_id) {
        if (!groups.has(shape.group_id)) groups.set(shape.group_id, this.page.newId());
        copy.group_id = groups.get(shape.group_id);
      }
      return copy;
    });
    if (here) this.write({ ...held, pastes: held.pastes + 1 });
    this.page.send({ type: 'paste_shapes', shapes }, { at: points[0][0] });
    this.page.select(shapes.map((s) => s.shape_id));
  }

  // Copy, then go to the next image; the paste happens there, on arrival (arrived()).
  async carry() {
    if (!this.copy({ quiet: true })) return;
    sessionStorage.setItem(carryKey(this.page.job.id), 'next');
    const gone = await this.page.next();
    if (!gone) sessionStorage.removeItem(carryKey(this.page.job.id)); // Cancel, or no next image
  }

  // On a page's start: paste what was carried here, once.
  arrived() {
    const key = carryKey(this.page.job.id);
    if (!sessionStorage.getItem(key)) return;
    sessionStorage.removeItem(key);
    this.paste();
  }
}
