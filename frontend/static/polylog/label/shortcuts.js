// Every shortcut of the labeling page, in one table. The key handlers find their action through it
// (actionFor), the "?" overlay lists it, and docs/ui.md shows the same rows (markdownTable; a browser test
// holds the two equal). A row: the action's name, the keys (as shown), what it does, the tool it belongs
// to (null: every tool), and `pointer` for mouse gestures, which are listed but handled by the pointer code.

import { MODES } from './constants.js';
import { ISSUE_MODE } from './modes/issue.js';

const POLYGON = MODES.DRAW_POLYGON;
const RECTANGLE = MODES.DRAW_RECTANGLE;
const FREEHAND = MODES.DRAW_FREEHAND;
const EDIT = MODES.EDIT;
const SPLIT = MODES.SPLIT;
const SCISSORS = MODES.SCISSORS;
const BOX = MODES.BOX_ASSIST;
const WAND = MODES.WAND;
const MODEL = MODES.MODEL;
const ISSUE = ISSUE_MODE;

export const SHORTCUTS = [
  { action: 'tool_polygon', keys: ['D'], what: 'Polygon tool' },
  { action: 'tool_rectangle', keys: ['B'], what: 'Rectangle tool' },
  { action: 'tool_freehand', keys: ['A'], what: 'Freehand tool' },
  { action: 'tool_edit', keys: ['E'], what: 'Edit tool' },
  { action: 'tool_scissors', keys: ['S'], what: 'Scissors: an outline that follows the edges between your clicks (assisted)' },
  { action: 'tool_box_assist', keys: ['X'], what: 'Box to polygon: drag a box around the object (assisted)' },
  { action: 'tool_wand', keys: ['W'], what: 'Magic wand: click a region of similar colour (assisted)' },
  { action: 'tool_model', keys: ['Q'], what: 'Model tool: prompt the configured model server with points and a box (assisted; only when one is configured)' },
  { action: 'label', keys: ['1-9'], what: 'Choose the active label (the label bar); with a shape selected, relabel it' },
  { action: 'undo', keys: ['Ctrl+Z'], what: 'Undo' },
  { action: 'redo', keys: ['Ctrl+Shift+Z', 'Ctrl+Y'], what: 'Redo' },
  { action: 'save', keys: ['Ctrl+S'], what: 'Save' },
  { action: 'zoom_in', keys: ['+', '='], what: 'Zoom in (the wheel zooms at the cursor)' },
  { action: 'zoom_out', keys: ['-', '_'], what: 'Zoom out' },
  { action: 'fit', keys: ['0'], what: 'Fit the image' },
  { action: 'nudge', keys: ['Arrow keys'], what: 'Nudge the selected vertex, else the selected shape, by one image pixel (one undo action per key-hold)' },
  { action: 'nudge', keys: ['Shift+Arrow keys'], what: 'Nudge by ten image pixels' },
  { action: 'delete_selection', keys: ['Del', 'Backspace'], what: 'Delete the selected vertex, else the selected shape' },
  { action: 'toggle_hidden', keys: ['H'], what: 'Hide / show the selected shape (in this page only)' },
  { action: 'hide_all', keys: ['Shift+H'], what: 'Hide / show every shape (only for you)' },
  { action: 'only_selected', keys: ['O'], what: 'Show only the selected shape, or every shape again (only for you)' },
  { action: 'labels_on_canvas', keys: ['L'], what: "Labels on the image: each shape's number and label name (#3 cat), or the number alone" },
  { action: 'toggle_lock', keys: ['Shift+L'], what: 'Lock / unlock the selected shape against your own edits (only for you; others can still edit it)' },
  { action: 'next_shape', keys: [']'], what: 'Select the next shape (by number; among those the File Labels search finds) and bring it into view' },
  { action: 'previous_shape', keys: ['['], what: 'Select the previous shape and bring it into view' },
  { action: 'attributes', keys: ['I'], what: "Edit the selected shape's attributes (the panel's Attributes: Tab or Up/Down move between them, Space toggles a checkbox, arrows or typing choose an option or a number, Enter sets a text, Esc goes back to the image)" },
  { action: 'reset_shape', keys: ['R'], what: 'Reset the selected shape to its original geometry' },
  { action: 'group', keys: ['G'], what: 'Group the picked shapes into one object' },
  { action: 'ungroup', keys: ['Shift+G'], what: 'Ungroup the picked shapes' },
  { action: 'copy', keys: ['Ctrl+C'], what: 'Copy the selected and picked shapes (kept for this job: paste here, on another image, after a reload)' },
  { action: 'paste', keys: ['Ctrl+V'], what: 'Paste the copies as one action (10 px aside on the image they came from; moved, or scaled down, to fit the image)' },
  { action: 'carry', keys: ['Shift+N'], what: 'Carry the selection to the next image: copy, go to the next image, paste there' },
  { action: 'merge', keys: ['M'], what: 'Merge the picked shapes into the selected one (picked last; it keeps its number)' },
  { action: 'subtract', keys: ['Shift+M'], what: 'Cut the other picked shape out of the selected one (two picked; the other stays)' },
  { action: 'tool_split', keys: ['K'], what: 'Split tool: draw a line across the selected shape to cut it' },
  { action: 'tool_issue', keys: ['C'], what: 'Issue tool: click a point, a vertex or a shape to pin an issue there (reviewers, annotators, managers; shapes stay as they are)' },
  { action: 'fullscreen', keys: ['F'], what: 'Fullscreen' },
  { action: 'next', keys: ['N'], what: 'Next image (the next unlabeled one)' },
  { action: 'previous', keys: ['P'], what: 'Previous image' },
  { action: 'pan', keys: ['Space+drag', 'Middle-drag'], what: 'Pan (never draws; in the edit tool a drag on empty space pans too)', pointer: true },
  { action: 'no_snap', keys: ['Alt (held)'], what: "No snapping: the vertex goes where you click or drop it, not onto a neighbour's vertex or edge (in the edit tool press Alt once the drag has started)", pointer: true },
  { action: 'shortcuts', keys: ['?'], what: 'Show / hide this list of shortcuts' },
  { action: 'close_draft', keys: ['Enter'], what: 'Close the polygon (or click its first vertex)', tool: POLYGON },
  { action: 'discard_draft', keys: ['Esc'], what: 'Drop the polygon being drawn', tool: POLYGON },
  { action: 'remove_last_vertex', keys: ['Backspace'], what: "Remove the draft's last vertex (and nothing else)", tool: POLYGON },
  { action: 'trace_other_way', keys: ['T'], what: "Trace the other way round the neighbour (a click on its outline right after a vertex on it adds the outline's vertices between, the shorter way; the cyan line shows which)", tool: POLYGON },
  { action: 'cancel_box', keys: ['Esc'], what: 'Cancel the box being dragged', tool: RECTANGLE },
  { action: 'freehand_open', keys: ['Shift+drag', 'Shift+click'], what: 'Keep the outline open: add a freehand stretch, or a straight side to the point; the next drag or click without Shift closes it', tool: FREEHAND, pointer: true },
  { action: 'close_outline', keys: ['Enter'], what: 'Close the open outline (or click its first point)', tool: FREEHAND },
  { action: 'cancel_outline', keys: ['Esc'], what: 'Drop the stroke being drawn, or the open outline (nothing was sent)', tool: FREEHAND },
  { action: 'remove_last_part', keys: ['Backspace'], what: "Remove the open outline's last stretch or point (and nothing else)", tool: FREEHAND },
  { action: 'clear_selection', keys: ['Esc'], what: 'Clear the selected vertex, then the shape', tool: EDIT },
  { action: 'pick', keys: ['Shift+click'], what: 'Pick several shapes (to group, merge, cut or copy them; the last picked is the selected one)', tool: EDIT, pointer: true },
  { action: 'insert_vertex', keys: ['Double-click an edge'], what: 'Insert a vertex there', tool: EDIT, pointer: true },
  { action: 'remove_vertex', keys: ['Alt+click', 'Right-click'], what: 'Remove the vertex', tool: EDIT, pointer: true },
  { action: 'split_line', keys: ['Drag across', 'Click both ends'], what: 'Draw the cutting line, from outside the shape to outside it', tool: SPLIT, pointer: true },
  { action: 'cancel_split', keys: ['Esc'], what: 'Drop the line; with no line, back to the edit tool', tool: SPLIT },
  { action: 'accept_proposal', keys: ['Enter'], what: 'Close the outline through the anchors (or click the first anchor); with a proposal shown, accept it as a polygon of the active label', tool: SCISSORS },
  { action: 'drop_proposal', keys: ['Esc'], what: 'Drop the proposal, else the anchors (nothing was sent)', tool: SCISSORS },
  { action: 'remove_last_anchor', keys: ['Backspace'], what: 'Remove the last anchor (and nothing else)', tool: SCISSORS },
  { action: 'box_marks', keys: ['Shift+click', 'Alt+click', 'Right-click'], what: 'Mark the object (Shift) or the background (Alt, right-click) in the box: the proposal is refined', tool: BOX, pointer: true },
  { action: 'accept_proposal', keys: ['Enter'], what: 'Accept the proposal as a polygon of the active label (drag its vertices first to correct it)', tool: BOX },
  { action: 'drop_proposal', keys: ['Esc'], what: 'Drop the proposal, its box and marks (nothing was sent)', tool: BOX },
  { action: 'accept_proposal', keys: ['Enter'], what: 'Accept the proposal as a polygon of the active label (drag its vertices first to correct it)', tool: WAND },
  { action: 'drop_proposal', keys: ['Esc'], what: 'Drop the proposal (nothing was sent)', tool: WAND },
  { action: 'model_prompts', keys: ['Click', 'Alt+click', 'Right-click', 'Drag'], what: 'Prompt the model: a point of the object, a point of the background, a box', tool: MODEL, pointer: true },
  { action: 'accept_proposal', keys: ['Enter'], what: 'Accept the proposal as a polygon of the active label (drag its vertices first to correct it)', tool: MODEL },
  { action: 'drop_proposal', keys: ['Esc'], what: 'Drop the proposal and its prompts (nothing was sent)', tool: MODEL },
  { action: 'remove_last_prompt', keys: ['Backspace'], what: 'Remove the last prompt point (and nothing else)', tool: MODEL },
  { action: 'leave_issue_tool', keys: ['Esc'], what: 'Back to the edit tool', tool: ISSUE },
];

const TOOL_NAMES = { [POLYGON]: 'polygon tool', [RECTANGLE]: 'rectangle tool', [FREEHAND]: 'freehand tool', [EDIT]: 'edit tool', [SPLIT]: 'split tool', [SCISSORS]: 'scissors', [BOX]: 'box to polygon', [WAND]: 'magic wand', [MODEL]: 'model tool', [ISSUE]: 'issue tool' };
const NAMED = { Del: 'Delete', Esc: 'Escape', Enter: 'Enter', Backspace: 'Backspace' };
const ARROWS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown']);

// 'Ctrl+Shift+Z' -> {ctrl, shift, key}; the last '+' part is the key ('+' itself is a key).
function parse(spec) {
  const parts = spec === '+' ? ['+'] : spec.split('+');
  const key = parts.pop();
  return { ctrl: parts.includes('Ctrl'), shift: parts.includes('Shift'), key };
}

// Whether a keydown is this key spec. Letters, named keys and arrows want Shift exactly as written; a
// character that needs Shift on some keyboards ('+', '?', '_') does not look at it.
function matches(event, spec) {
  const { ctrl, shift, key } = parse(spec);
  if (ctrl !== (event.ctrlKey || event.metaKey) || event.altKey) return false;
  let hit;
  let strictShift = true;
  if (key === '1-9') hit = /^[1-9]$/.test(event.key);
  else if (key === 'Arrow keys') hit = ARROWS.has(event.key);
  else if (NAMED[key]) hit = event.key === NAMED[key];
  else if (/^[A-Z]$/.test(key)) hit = event.key.toLowerCase() === key.toLowerCase();
  else {
    hit = event.key === key;
    strictShift = false;
  }
  return hit && (!strictShift || shift === event.shiftKey);
}

// The action of a keydown among the rows of one tool (null: among the rows of every tool); null: none.
export function actionFor(event, tool = null) {
  const row = SHORTCUTS.find((r) => !r.pointer && (r.tool ?? null) === tool && r.keys.some((spec) => matches(event, spec)));
  return row?.action ?? null;
}

export const whereOf = (row) => (row.tool ? TOOL_NAMES[row.tool] : 'everywhere');

// The table as docs/ui.md shows it.
export function markdownTable() {
  const lines = ['| keys | what | where |', '| --- | --- | --- |'];
  for (const row of SHORTCUTS) lines.push(`| ${row.keys.join(', ')} | ${row.what} | ${whereOf(row)} |`);
  return lines.join('\n');
}
