// The assisted tools' sliders (docs/ui.md, "Assisted outlines"), at the top of the image while such a tool
// is active: the magic wand's colour tolerance, and how far an outline is simplified (scissors, box, wand;
// image pixels: a vertex is dropped when the outline stays within that distance without it). Kept in this
// browser's localStorage. A slider let go asks the tool again with the new value (the proposal shown is
// replaced); it gives the keyboard back to the page at once, so Enter and Esc reach the tool.

import { h } from '../ui.js';
import { MODES } from './constants.js';

const SLIDERS = [
  {
    name: 'tolerance',
    label: 'Colour tolerance',
    title: 'How different a colour may be from the clicked one and still be flooded (0-255)',
    min: 0,
    max: 255,
    step: 1,
    value: 32,
    unit: '',
    tools: [MODES.WAND],
  },
  {
    name: 'simplify',
    label: 'Simplify',
    title: 'Image pixels an outline may move when its vertices are thinned out (0: every pixel step is a vertex)',
    min: 0,
    max: 20,
    step: 0.5,
    value: 1,
    unit: ' px',
    tools: [MODES.SCISSORS, MODES.BOX_ASSIST, MODES.WAND],
  },
];

export class AssistOptions {
  // onChange(name, value): a slider was let go at a new value.
  constructor(host, onChange) {
    this.host = host;
    this.values = {};
    this.rows = new Map();
    for (const slider of SLIDERS) {
      const key = `polylog.assist.${slider.name}`;
      const stored = Number(localStorage.getItem(key) ?? Number.NaN);
      const value = Number.isFinite(stored) && stored >= slider.min && stored <= slider.max ? stored : slider.value;
      this.values[slider.name] = value;
      const output = h('output', {}, `${value}${slider.unit}`);
      const input = h('input', {
        type: 'range',
        name: slider.name,
        min: slider.min,
        max: slider.max,
        step: slider.step,
        value,
        'aria-label': slider.label,
        oninput: (event) => (output.textContent = `${event.target.value}${slider.unit}`),
        onchange: (event) => {
          const next = Number(event.target.value);
          this.values[slider.name] = next;
          localStorage.setItem(key, String(next));
          event.target.blur(); // keys go on reaching the page (Enter accepts, Esc drops)
          onChange(slider.name, next);
        },
      });
      const row = h('label', { class: 'assist-option', title: slider.title, dataset: { option: slider.name } }, h('span', {}, slider.label), input, output);
      this.rows.set(slider.name, { row, tools: slider.tools });
      host.append(row);
    }
    this.show(null);
  }

  get tolerance() {
    return this.values.tolerance;
  }

  get simplify() {
    return this.values.simplify;
  }

  // The sliders of this tool (mode name), none for another tool.
  show(mode) {
    let any = false;
    for (const { row, tools } of this.rows.values()) {
      const shown = tools.includes(mode);
      row.hidden = !shown;
      any ||= shown;
    }
    this.host.hidden = !any;
  }
}
