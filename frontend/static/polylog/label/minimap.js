// The minimap: a thumbnail of the image in the stage's corner with the part on screen outlined, shown only
// while the image does not fit the stage at the current zoom. A click or a drag on it pans there.

import { h } from '../ui.js';

const MAX_W = 180;
const MAX_H = 130;

export class Minimap {
  constructor(stage, renderer, { url, width, height }) {
    this.renderer = renderer;
    this.width = width;
    this.height = height;
    const ratio = Math.min(MAX_W / width, MAX_H / height);
    this.ratio = ratio;
    this.frame = h('div', { class: 'viewport-rect' });
    this.box = h(
      'div',
      { class: 'minimap', hidden: true, title: 'Click or drag to pan there', style: { width: `${Math.round(width * ratio)}px`, height: `${Math.round(height * ratio)}px` } },
      h('img', { src: url, alt: '', draggable: 'false' }),
      this.frame,
    );
    stage.append(this.box);
    let dragging = false;
    this.box.addEventListener('pointerdown', (event) => {
      event.preventDefault();
      event.stopPropagation();
      dragging = true;
      this.box.setPointerCapture(event.pointerId);
      this.panTo(event);
    });
    this.box.addEventListener('pointermove', (event) => dragging && this.panTo(event));
    this.box.addEventListener('pointerup', () => (dragging = false));
    this.box.addEventListener('pointercancel', () => (dragging = false));
    // The stage's size is read once and again after a resize only: update() runs on every zoom and pan
    // frame, and reading a size there would force a layout each time.
    this.size = null;
    window.addEventListener('resize', () => {
      this.size = null;
      this.update();
    });
  }

  // Centre the stage on the image point under the pointer.
  panTo(event) {
    const r = this.renderer;
    const box = this.box.getBoundingClientRect();
    const x = (event.clientX - box.left) / this.ratio;
    const y = (event.clientY - box.top) / this.ratio;
    const rect = r.box();
    r.tx = rect.width / 2 - x * r.scale;
    r.ty = rect.height / 2 - y * r.scale;
    r.applyView();
  }

  // After every zoom or pan: shown when part of the image is off the stage, with the part on screen outlined.
  update() {
    const r = this.renderer;
    if (!this.size?.width) this.size = { width: r.svg.clientWidth, height: r.svg.clientHeight };
    const rect = this.size;
    const x0 = Math.max(0, -r.tx / r.scale);
    const y0 = Math.max(0, -r.ty / r.scale);
    const x1 = Math.min(this.width, (rect.width - r.tx) / r.scale);
    const y1 = Math.min(this.height, (rect.height - r.ty) / r.scale);
    const whole = x0 <= 0.5 && y0 <= 0.5 && x1 >= this.width - 0.5 && y1 >= this.height - 0.5;
    this.box.hidden = whole || !rect.width;
    if (this.box.hidden) return;
    Object.assign(this.frame.style, {
      left: `${x0 * this.ratio}px`,
      top: `${y0 * this.ratio}px`,
      width: `${Math.max(0, x1 - x0) * this.ratio}px`,
      height: `${Math.max(0, y1 - y0) * this.ratio}px`,
    });
  }
}
