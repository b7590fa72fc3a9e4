// What the labeling page tells people, in their words: names of people ("ann1") and shapes ("chair #3"),
// a short memory of who removed or changed which shape (from the events the store applies), and the
// sentences for refusals and for others' changes to what you are editing. Never a raw code or id
// (docs/ui.md, "Messages").

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const REMEMBERED = 500; // shapes whose latest cause is kept

// People's names by id. Event frames carry the actor's id only: presence frames name everyone seen on
// the image, and an id never seen there is read once from the event it made (the events API names it).
export class People {
  constructor({ itemId, me, get }) {
    this.itemId = itemId;
    this.me = me;
    this.get = get;
    this.names = new Map([[me.id, me.username]]);
    this.reading = new Map(); // actor id -> the read in progress
  }

  remember(users) {
    for (const user of users) if (user) this.names.set(user.id, user.username);
  }

  // The name of the person who made event `seq` (their id: `actorId`); "someone" when it cannot be read.
  async name(actorId, seq) {
    if (!this.names.has(actorId) && seq && !this.reading.has(actorId)) {
      const read = this.get(`/api/items/${this.itemId}/events/?after=${seq - 1}&limit=1`)
        .then((page) => {
          const row = page.results.find((e) => e.seq === seq);
          if (row?.actor === actorId && row.actor_name) this.names.set(actorId, row.actor_name);
        })
        .catch(() => {}) // a name is a nicety: the message goes out with "someone"
        .finally(() => this.reading.delete(actorId));
      this.reading.set(actorId, read);
    }
    await this.reading.get(actorId);
    return this.names.get(actorId) ?? 'someone';
  }
}

// "chair #3"; a polygon still being drawn is "polygon #4"; without a number (an older server) "the chair".
export function shapeName(shape, labels) {
  if (!shape) return 'that shape';
  const label = shape.draft ? 'polygon' : (labels.get(shape.label_class_id)?.name ?? 'shape');
  return shape.number === null || shape.number === undefined ? `the ${label}` : `${label} #${shape.number}`;
}

// What a message needs of a shape, kept after the shape is gone.
export function shapeFacts(shape, { draft = false } = {}) {
  if (!shape) return null;
  return { id: shape.id, number: shape.number ?? null, label_class_id: shape.label_class_id ?? null, draft, actor: shape.actor ?? null };
}

const samePoints = (a, b) => a === b || (a.length === b.length && a.every((p, i) => p[0] === b[i][0] && p[1] === b[i][1]));
const sameAttributes = (a = {}, b = {}) => a === b || (Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((name) => a[name] === b[name]));
const sameShape = (a, b) => a === b || (a.label_class_id === b.label_class_id && (a.group_id ?? null) === (b.group_id ?? null) && samePoints(a.points, b.points) && sameAttributes(a.attributes, b.attributes));

// Who removed or changed which closed shape: the latest cause per shape, from the events the store
// applies (before and after each, so undo, redo, discard and reset, which the store reads again, are
// seen as what they did to each shape).
export class ShapeMemory {
  constructor() {
    this.causes = new Map(); // shape id -> cause
  }

  // The causes one applied event makes: {key, shapeId, shape (facts, as it was), removed, type, actor,
  // seq, newLabelId, grouped}; remembered, and returned for the page to tell whom it concerns.
  note(event, before, after) {
    if (before.shapes === after.shapes) return [];
    const found = [];
    for (const [id, shape] of before.shapes) {
      const now = after.shapes.get(id);
      if (now && sameShape(shape, now)) continue;
      const cause = {
        key: `${event.seq}:${id}`,
        shapeId: id,
        shape: shapeFacts(shape),
        removed: !now,
        type: event.type,
        actor: event.actor,
        seq: event.seq,
        newLabelId: now && now.label_class_id !== shape.label_class_id ? now.label_class_id : null,
        grouped: now ? (now.group_id ?? null) !== null : false,
      };
      this.causes.delete(id);
      this.causes.set(id, cause);
      found.push(cause);
    }
    while (this.causes.size > REMEMBERED) this.causes.delete(this.causes.keys().next().value);
    return found;
  }

  latest(shapeId) {
    return this.causes.get(shapeId) ?? null;
  }
}

// "ann1 deleted chair #3", "bob's undo removed chair #3", "ann1 moved a vertex of chair #3"; `who` is the
// actor's name, or "You" for the person reading it.
export function causeText(cause, who, labels) {
  const name = shapeName(cause.shape, labels);
  const whose = who === 'You' ? 'Your' : `${who}'s`;
  if (cause.removed) {
    switch (cause.type) {
      case 'shape_deleted':
        return `${who} deleted ${name}`;
      case 'all_shapes_deleted':
        return `${who} deleted all shapes, ${name} with them`;
      case 'label_shapes_deleted':
        return `${who} deleted every ${labels.get(cause.shape.label_class_id)?.name ?? 'shape of its label'}, ${name} with them`;
      case 'shapes_merged':
        return `${who} merged ${name} into another shape`;
      case 'undone':
        return `${whose} undo removed ${name}`;
      case 'redone':
        return `${whose} redo removed ${name}`;
      case 'changes_discarded':
        return `${who} discarded ${who === 'You' ? 'your' : 'their'} changes, which removed ${name}`;
      default:
        return `${who} removed ${name}`;
    }
  }
  switch (cause.type) {
    case 'shape_moved':
      return `${who} moved ${name}`;
    case 'vertex_moved':
      return `${who} moved a vertex of ${name}`;
    case 'vertex_inserted':
      return `${who} added a vertex to ${name}`;
    case 'vertex_removed':
      return `${who} removed a vertex of ${name}`;
    case 'shape_relabeled':
      return `${who} relabeled ${name} as ${labels.get(cause.newLabelId)?.name ?? 'another label'}`;
    case 'shape_grouped':
      return `${who} ${cause.grouped ? 'grouped' : 'ungrouped'} ${name}`;
    case 'attributes_set':
      return `${who} changed the attributes of ${name}`;
    case 'shape_reset':
      return `${who} reset ${name} to its original geometry`;
    case 'shapes_merged':
      return `${who} merged other shapes into ${name}`;
    case 'shape_subtracted':
      return `${who} cut a shape out of ${name}`;
    case 'shape_split':
      return `${who} split ${name}`;
    case 'undone':
      return `${whose} undo changed ${name}`;
    case 'redone':
      return `${whose} redo changed ${name}`;
    case 'changes_discarded':
      return `${who} discarded ${who === 'You' ? 'your' : 'their'} changes, which changed ${name}`;
    default:
      return `${who} changed ${name}`;
  }
}

// What you were doing to a shape, as the end of a sentence about what someone else did to it: by the
// command of yours it met ("while you were moving it"), else by the page ("which you had selected").
export function involvementText(involvement, removed) {
  switch (involvement) {
    case 'moving':
      return ' while you were moving it';
    case 'editing':
      return ' while you were editing it';
    case 'relabeling':
      return ' while you were relabeling it';
    case 'grouping':
      return ' while you were grouping it';
    case 'attributing':
      return ' while you were changing its attributes';
    case 'resetting':
      return ' while you were resetting it';
    case 'deleting':
      return removed ? ' before you did' : ' while you were deleting it';
    case 'selected':
      return removed ? ', which you had selected' : ', which you have selected';
    default:
      return '';
  }
}

// What a command of yours was doing to its shape (for involvementText).
export function commandInvolvement(command) {
  switch (command?.type) {
    case 'move_shape':
      return 'moving';
    case 'move_vertex':
    case 'insert_vertex':
    case 'remove_vertex':
      return 'editing';
    case 'relabel_shape':
      return 'relabeling';
    case 'group_shape':
      return 'grouping';
    case 'set_attributes':
      return 'attributing';
    case 'reset_shape':
      return 'resetting';
    case 'delete_shape':
      return 'deleting';
    default:
      return null;
  }
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const SEVERAL = new Set(['paste_shapes', 'merge_shapes', 'subtract_shape', 'split_shape']);

// A refusal as a sentence. `command` is the command refused (null: the page's own refusal or a socket
// error); `shape` the facts of the shape it named, as the page knew them when it sent it; `name(id)` names
// a shape id found in the server's message. Returns null for unknown_shape, which the page words from what
// it knows of who removed the shape (causeText).
export function refusalText({ code, message, command, shape, labels, drafter, name }) {
  const it = shapeName(shape, labels);
  const type = command?.type;
  const drawing = type === 'add_vertex' || type === 'close_polygon' || type === 'discard_draft';
  // A paste, merge, cut or split names the shapes it is about in the server's own message ("Pasted shape 2
  // of 3: ...", "Shape #4 has another label than shape #2 ..."): the page's sentences about one shape
  // would lose which.
  if (SEVERAL.has(type) && code !== 'unknown_shape' && code !== 'unknown_label_class') return withNames(message, name);
  switch (code) {
    case 'unknown_shape':
      return null;
    case 'self_intersecting':
      return type === 'close_polygon' || type === 'add_polygon'
        ? `${capital(it)} would cross itself: move a vertex so that its edges do not cross, then close it again.`
        : `${capital(it)} would cross itself, so that change was not made.`;
    case 'outside_image':
      if (!command) return message;
      if (type === 'move_shape') return `${capital(it)} would leave the image, so it was not moved.`;
      if (type === 'close_polygon' || type === 'add_polygon') return `${capital(it)} has a vertex outside the image.`;
      return 'That point is outside the image.';
    case 'zero_area':
      return `${capital(it)} would have no area (its vertices on one line), so that change was not made.`;
    case 'duplicate_vertex':
      if (type === 'add_vertex') return /close the polygon/.test(message) ? 'That is the first vertex: click it once (or press Enter) to close the polygon.' : `There is a vertex of ${it} there already.`;
      return `${capital(it)} would have two vertices in one place, so that change was not made.`;
    case 'too_few_vertices':
      if (type === 'remove_vertex') return `${capital(it)} needs at least 3 vertices: that one stays.`;
      return command ? `${capital(it)} needs at least 3 different vertices.` : message;
    case 'invalid_vertex_index':
      return `That vertex of ${it} is no longer there: someone changed the shape.`;
    case 'shape_is_draft':
      return `${capital(it)} is still being drawn: close it first.`;
    case 'shape_closed':
      return `${capital(it)} is already closed.`;
    case 'not_your_draft':
      return `${capital(it)} is being drawn by ${drafter ?? 'someone else'}: only they can change it.`;
    case 'unknown_label_class':
      return 'That label is no longer in this job (a manager removed it): pick another one.';
    case 'shape_exists':
      return drawing || type === 'add_polygon' ? 'That shape is already on the image.' : withNames(message, name);
    default:
      return withNames(message, name);
  }
}

// The server's message with every id in it replaced by the shape's name.
export function withNames(message, name) {
  return String(message ?? '').replace(UUID, (id) => name(id));
}
