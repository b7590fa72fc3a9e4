// Names shared by the labeling page's modules.

export const MODES = {
  DRAW_POLYGON: 'draw_polygon',
  DRAW_RECTANGLE: 'draw_rectangle',
  DRAW_FREEHAND: 'draw_freehand',
  EDIT: 'edit',
  SPLIT: 'split',
  // The assisted tools (docs/ui.md, "Assisted outlines"): each asks the server for a proposal.
  SCISSORS: 'scissors',
  BOX_ASSIST: 'box_assist',
  WAND: 'wand',
  MODEL: 'model',
};
// The assisted tools' names in the server's routes (POST /api/items/<id>/assist/<tool>/).
export const ASSIST_TOOLS = { [MODES.SCISSORS]: 'scissors', [MODES.BOX_ASSIST]: 'box', [MODES.WAND]: 'wand', [MODES.MODEL]: 'model' };
export const SNAP_PX = 9; // a click this close (on screen) to a draft's first vertex closes the polygon
export const SNAP_TO_PX = 8; // a vertex this close (on screen) to another shape's vertex or edge snaps onto it (Alt: not)
export const PICK_PX = 8; // a press takes the nearest vertex (else edge) this close on screen (pick.js)
export const DRAG_PX = 3; // a press that moves less than this is a click, not a drag
// A freehand stroke keeps the points farther than this (on screen) from the simplified outline: the same
// detail on screen at any zoom, so zooming in keeps more of it in image pixels.
export const FREEHAND_TOLERANCE_PX = 2;
