// Issue tool (C, or the review bar's Issue button; issue 24): a click pins an issue where it lands. Near a
// vertex (within the pick radius) the issue is on that vertex, exactly at it, and names its shape; inside
// a shape it names the shape; elsewhere it is on the point alone. The click opens the new-issue form there
// (label/issues.js); a click on a marker opens its thread instead (the marker takes the click). Shapes are
// never changed by this tool, so reviewers, who may not edit shapes, use it too. Esc goes back to the
// edit tool.

import { MODES } from '../constants.js';

export const ISSUE_MODE = 'issue';

export default {
  name: ISSUE_MODE,
  hint: 'Issue tool: click a point, a vertex or a shape to pin an issue there · click a marker for its thread · Esc goes back',

  onSetup() {
    return {};
  },

  onClick(state, ctx, event) {
    if (event.button !== 0) return;
    const hit = ctx.hitTest(event);
    const shape = hit.shapeId ? ctx.view().shapes.get(hit.shapeId) : null;
    let at = ctx.clampHard(ctx.toImage(event));
    if (shape && hit.kind === 'vertex') at = shape.points[hit.index];
    ctx.composeIssue(at, shape ? shape.id : null);
  },

  onKeyDown(state, ctx, event, action) {
    if (action !== 'leave_issue_tool') return false;
    ctx.setMode(MODES.EDIT);
    return true;
  },
};
