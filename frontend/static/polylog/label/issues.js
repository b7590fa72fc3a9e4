// Issues pinned to the spot (issue 24, docs/ui.md "Review"): a numbered marker on the image where someone
// pointed (a point, or a vertex of a shape), its thread (the text, the comments, who wrote them) in a small
// window beside it, the new-issue form, and the list of the image's issues in the side panel. Issues live
// in the item's own events (issue_opened, issue_commented, issue_resolved, issue_reopened), folded by the
// store like any other event, so everyone on the image sees a marker, a comment or a resolution live.
//
// Every text here is someone's words: it goes into the page as text (textContent), never as markup.

import { h } from '../ui.js';
import { REASON_MAX, reviewRights } from './review.js';
import { bboxOf, besidePlacement } from './view_controls.js';

// The item's issues as the store folds them (an array, or a Map by id), in the order they were opened,
// each with its number (1, 2, ... as on the markers).
export function issuesOf(view) {
  const raw = view?.issues ?? [];
  const list = raw instanceof Map ? [...raw.values()] : [...raw];
  list.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  return list.map((issue, n) => ({ ...issue, number: n + 1, comments: issue.comments ?? [] }));
}

const STATUS_TEXT = { open: 'open', resolved: 'resolved' };

export class Issues {
  // page: {stage, renderer, role, people, send(command) -> Promise, refuse(code, message, at), newId(),
  // redraw(), shapeName(shapeId) -> "cat #3", reveal(point), stopped() -> why a thread's comment field
  // and buttons are off for good (the image deleted from the job) or null}
  constructor(page) {
    this.page = page;
    this.rights = reviewRights(page.role);
    this.currentId = null; // the issue whose thread is open
    this.awaited = null; // an issue I just opened: its thread opens once its event is here
    this.thread = null; // {element, parts, key}
    this.composer = null; // the new-issue form: {element, at, shapeId}
    this.names = new Map(); // actor id -> name, once read
    this.list = [];
    this.raw = null; // the store's issues the list was made from
    this.dirty = true; // the pins and the list are to be drawn again
    this.drawnFor = null; // the open thread's issue when they were drawn
    this.view = null; // the view drawn last (render)
    this.section = h('section', { class: 'issues-section', id: 'issues', 'aria-label': 'Issues on this image' }, h('h3', {}, 'Issues ', h('span', { class: 'n', id: 'issues-open' })), h('ul', { id: 'issue-list' }));
    page.renderer.onIssueClick = (id) => this.open(id);
    // Esc closes the thread or the form wherever the focus is (a button clicked in it may have gone with
    // a redraw), before the tool's own Esc.
    document.addEventListener(
      'keydown',
      (event) => {
        if (event.key !== 'Escape' || !(this.thread || this.composer) || document.querySelector('dialog[open]')) return;
        event.stopPropagation();
        event.preventDefault();
        if (this.composer) this.closeComposer();
        else this.close();
      },
      true,
    );
  }

  get openCount() {
    return this.list.filter((issue) => issue.status === 'open').length;
  }

  // Everything about issues for the view as it is now: markers, the open thread, the panel's list.
  // The pins and the list are touched only when the issues (the store keeps their array while no review
  // event comes) or the open thread changed: a drag redraws every frame, and an image may hold hundreds.
  render(view) {
    this.view = view;
    if (view.issues !== this.raw) {
      this.raw = view.issues;
      this.list = issuesOf(view);
      this.dirty = true;
    }
    if (this.awaited && this.list.some((issue) => issue.id === this.awaited)) {
      const id = this.awaited;
      this.awaited = null;
      this.open(id);
    }
    if (this.currentId && !this.list.some((issue) => issue.id === this.currentId)) this.close();
    if (this.dirty || this.drawnFor !== this.currentId) {
      this.dirty = false;
      this.drawnFor = this.currentId;
      this.page.renderer.renderIssues(this.list, this.currentId);
      this.renderList();
    }
    if (this.thread) this.fillThread();
    this.placePopups();
  }

  // A name for an actor id: the People service reads it from the event when it is not known yet; the
  // view is drawn again once it is.
  nameOf(actor, seq) {
    if (actor === null || actor === undefined) return 'someone';
    if (this.names.has(actor)) return this.names.get(actor);
    this.names.set(actor, '…');
    this.page.people.name(actor, seq).then((name) => {
      this.names.set(actor, name);
      if (this.thread) this.thread.key = '';
      this.page.redraw();
    });
    return '…';
  }

  renderList() {
    const open = this.openCount;
    this.section.querySelector('#issues-open').textContent = this.list.length ? `${open} open / ${this.list.length}` : '';
    const rows = this.list.map((issue) =>
      h(
        'li',
        { class: `issue-row ${issue.status}${issue.id === this.currentId ? ' current' : ''}`, dataset: { issueId: issue.id }, onclick: () => this.open(issue.id, { reveal: true }) },
        h('span', { class: 'issue-number' }, String(issue.number)),
        h('span', { class: 'issue-text' }, issue.text),
        h('span', { class: 'n' }, issue.comments.length ? `${issue.comments.length} ✉ · ` : '', STATUS_TEXT[issue.status] ?? issue.status),
      ),
    );
    this.section.querySelector('#issue-list').replaceChildren(...(rows.length ? rows : [h('li', { class: 'empty' }, 'No issues.')]));
  }

  // The thread of one issue, beside its marker; `reveal` brings the marker into view first.
  open(issueId, { reveal = false } = {}) {
    const issue = this.list.find((i) => i.id === issueId);
    if (!issue) return;
    this.closeComposer();
    if (reveal) this.page.reveal?.([issue.x, issue.y]);
    if (!this.thread) this.buildThread();
    this.currentId = issueId;
    this.thread.key = '';
    this.page.redraw();
  }

  close() {
    this.thread?.element.remove();
    this.thread = null;
    this.currentId = null;
    this.page.redraw();
  }

  buildThread() {
    const parts = {
      title: h('h4', { id: 'issue-thread-title' }),
      status: h('span', { class: 'issue-status' }),
      where: h('div', { class: 'issue-where muted' }),
      text: h('p', { class: 'issue-text' }),
      author: h('div', { class: 'issue-author muted' }),
      comments: h('ol', { class: 'issue-comments' }),
      actions: h('div', { class: 'issue-actions' }),
      field: this.rights.comment ? h('textarea', { class: 'issue-comment-field', rows: '2', maxlength: String(REASON_MAX), 'aria-label': 'Comment', placeholder: 'Comment (Ctrl+Enter sends)' }) : null,
    };
    const close = h('button', { type: 'button', class: 'icon close', 'aria-label': 'Close', title: 'Close (Esc)', onclick: () => this.close() }, '×');
    const element = h(
      'div',
      { class: 'issue-thread popup', role: 'dialog', 'aria-labelledby': 'issue-thread-title' },
      h('header', {}, parts.title, parts.status, close),
      parts.where,
      parts.text,
      parts.author,
      parts.comments,
      parts.field,
      parts.actions,
    );
    element.addEventListener('keydown', (event) => {
      event.stopPropagation(); // the page's shortcuts stay out of the thread
      if (event.key === 'Escape') this.close();
      else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && parts.field) this.comment();
    });
    this.keepEvents(element);
    this.page.stage.append(element);
    this.thread = { element, parts, key: '' };
  }

  // A press or a wheel in a popup stays there: it scrolls the popup, never zooms or pans the image.
  keepEvents(element) {
    for (const type of ['pointerdown', 'wheel']) element.addEventListener(type, (event) => event.stopPropagation());
  }

  // The thread's contents for the issue as it is now (comments may have come in from others).
  fillThread() {
    const issue = this.list.find((i) => i.id === this.currentId);
    if (!issue) return;
    const { parts } = this.thread;
    const stopped = this.page.stopped?.() ?? null;
    const key = JSON.stringify([issue.number, issue.status, issue.text, issue.shape_id, issue.comments.map((c) => [c.seq, c.text]), this.page.shapeName(issue.shape_id), stopped]);
    if (key === this.thread.key) return;
    this.thread.key = key;
    this.thread.element.dataset.issueId = issue.id;
    this.thread.element.dataset.status = issue.status;
    parts.title.textContent = `Issue ${issue.number}`;
    parts.status.textContent = STATUS_TEXT[issue.status] ?? issue.status;
    parts.status.dataset.status = issue.status;
    parts.where.textContent = issue.shape_id ? `On ${this.page.shapeName(issue.shape_id)}, at ${Math.round(issue.x)}, ${Math.round(issue.y)}` : `At ${Math.round(issue.x)}, ${Math.round(issue.y)}`;
    parts.text.textContent = issue.text;
    parts.author.textContent = `opened by ${this.nameOf(issue.author, issue.seq)}`;
    parts.comments.replaceChildren(
      ...issue.comments.map((comment) => h('li', { class: 'issue-comment' }, h('span', { class: 'comment-author' }, this.nameOf(comment.actor, comment.seq)), h('span', { class: 'comment-text' }, comment.text))),
    );
    const buttons = [];
    if (parts.field) buttons.push(h('button', { type: 'button', class: 'comment', onclick: () => this.comment() }, 'Comment'));
    if (issue.status === 'open' && this.rights.resolve) buttons.push(h('button', { type: 'button', class: 'resolve primary', onclick: () => this.act({ type: 'resolve_issue', issue_id: issue.id }) }, 'Resolve'));
    if (issue.status === 'resolved' && this.rights.reopenIssue) buttons.push(h('button', { type: 'button', class: 'reopen-issue', onclick: () => this.act({ type: 'reopen_issue', issue_id: issue.id }) }, 'Reopen'));
    // Read, not answered: the commands would only be refused in the page.
    if (parts.field) {
      parts.field.disabled = stopped !== null;
      parts.field.placeholder = stopped ?? 'Comment (Ctrl+Enter sends)';
    }
    for (const button of stopped ? buttons : []) {
      button.disabled = true;
      button.title = stopped;
    }
    parts.actions.replaceChildren(...buttons);
  }

  async act(command) {
    try {
      await this.page.send(command);
    } catch {
      // the refusal is already shown
    }
  }

  async comment() {
    const field = this.thread?.parts.field;
    const text = field?.value.trim();
    if (!text) return this.page.refuse('empty_text', 'Write a comment first.', null);
    try {
      await this.page.send({ type: 'comment_issue', issue_id: this.currentId, text });
      if (field.value.trim() === text) field.value = '';
    } catch {
      // kept in the field; the refusal is shown
    }
  }

  // The new-issue form at an image point (on a shape's vertex or inside it: shapeId), from the issue tool.
  compose(at, shapeId = null) {
    if (!this.rights.openIssue) return this.page.refuse('permission_denied', `Your role (${this.page.role}) may read issues but not open them.`, at);
    this.close();
    this.closeComposer();
    const field = h('textarea', { id: 'issue-text', rows: '3', maxlength: String(REASON_MAX), 'aria-label': 'Issue', placeholder: 'What is wrong here? (Ctrl+Enter opens it)' });
    const submit = h('button', { type: 'button', class: 'primary', onclick: () => this.submit() }, 'Open issue');
    const cancel = h('button', { type: 'button', onclick: () => this.closeComposer() }, 'Cancel');
    const where = h('div', { class: 'issue-where muted' }, shapeId ? `On ${this.page.shapeName(shapeId)}` : 'At this point');
    const element = h('div', { class: 'issue-composer popup', role: 'dialog', 'aria-label': 'New issue' }, h('header', {}, h('h4', {}, 'New issue')), where, field, h('div', { class: 'issue-actions' }, cancel, submit));
    element.addEventListener('keydown', (event) => {
      event.stopPropagation();
      if (event.key === 'Escape') this.closeComposer();
      else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) this.submit();
    });
    this.keepEvents(element);
    this.page.stage.append(element);
    this.composer = { element, at, shapeId, field };
    this.placePopups();
    field.focus();
  }

  closeComposer() {
    this.composer?.element.remove();
    this.composer = null;
  }

  async submit() {
    const composer = this.composer;
    if (!composer) return;
    const text = composer.field.value.trim();
    if (!text) return this.page.refuse('empty_text', 'Say what is wrong: an issue needs a text.', composer.at);
    const issueId = this.page.newId();
    const [x, y] = composer.at.map((v) => Math.round(v * 100) / 100);
    try {
      await this.page.send({ type: 'open_issue', issue_id: issueId, x, y, shape_id: composer.shapeId, text });
    } catch {
      return; // the form stays with its text; the refusal is shown
    }
    if (this.composer === composer) this.closeComposer();
    // Its thread opens beside it as soon as its event is folded (the answer and the event travel apart).
    this.awaited = issueId;
    this.page.redraw();
  }

  // The thread beside its marker and the form beside its point, inside the stage, on the side away from
  // the issue's shape (view_controls.js besidePlacement): the spot being talked about stays in sight.
  placePopups() {
    const issue = this.thread && this.list.find((i) => i.id === this.currentId);
    if (issue) this.place(this.thread.element, [issue.x, issue.y], issue.shape_id);
    if (this.composer) this.place(this.composer.element, this.composer.at, this.composer.shapeId);
  }

  place(element, at, shapeId) {
    const { renderer, stage } = this.page;
    const rect = stage.getBoundingClientRect();
    const [px, py] = renderer.toClient(at);
    let box = [px - 14, py - 34, px + 14, py + 2]; // the pin
    const shape = shapeId ? this.view?.shapes.get(shapeId) : null;
    if (shape) {
      const [x0, y0, x1, y1] = bboxOf(shape.points);
      const [cx0, cy0] = renderer.toClient([x0, y0]);
      const [cx1, cy1] = renderer.toClient([x1, y1]);
      box = [Math.min(box[0], cx0), Math.min(box[1], cy0), Math.max(box[2], cx1), Math.max(box[3], cy1)];
    }
    const [left, top] = besidePlacement(rect, [element.offsetWidth, element.offsetHeight], [px, py], box);
    element.style.left = `${left - rect.left}px`;
    element.style.top = `${top - rect.top}px`;
  }
}
