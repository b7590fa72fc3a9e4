// The review bar of the labeling page (issue 24, docs/ui.md "Review"): a row above the image saying where
// the image stands in review (not reviewed, to review, accepted, rejected with its reason, and by whom),
// how many of its issues are open, and, for reviewers and managers, Accept, Reject (with a reason) and
// Reopen. Everyone on the image sees the status; the buttons send review commands, which the domain
// decides (an image with open issues is not accepted: the refusal is shown as any other). The status is
// folded from the item's events by the store, so a decision made elsewhere shows here live.
//
// Who may do what (the lead's vocabulary, shared/DESIGN.md section 9): reviewers and managers review;
// reviewers, managers and annotators open and comment issues; annotators (and reviewers, managers)
// resolve; reviewers and managers reopen; auditors only look.

import { h } from '../ui.js';

export const REASON_MAX = 2000; // characters of a reason, an issue's text or a comment (the domain's limit)

const REVIEWERS = new Set(['reviewer', 'manager']);
const TALKERS = new Set(['reviewer', 'manager', 'annotator']);

// What a role may do in review; the page and the issues' thread ask it, the server decides anyway.
export function reviewRights(role) {
  return {
    review: REVIEWERS.has(role),
    openIssue: TALKERS.has(role),
    comment: TALKERS.has(role),
    resolve: TALKERS.has(role),
    reopenIssue: REVIEWERS.has(role),
  };
}

const STATUS_TEXT = { none: 'Not reviewed', to_review: 'To review', accepted: 'Accepted', rejected: 'Rejected' };

// The review state of an item as the store folds it; an older server (or a state before the first review
// event) has none.
export function reviewOf(view) {
  const review = view?.review ?? null;
  return { status: review?.status ?? 'none', reason: review?.reason ?? null, actor: review?.actor ?? null, seq: review?.seq ?? null };
}

export class ReviewBar {
  // page: {role, send(command) -> Promise (the seq; rejects with the refusal, already shown), people
  // (messages.js People), ask (ui.js), refuse(code, message), issueTool() (toggles the issue tool),
  // issueToolOn() -> bool, stopped() -> why every button is off for good (the image deleted from the
  // job) or null}
  constructor(host, page) {
    this.host = host;
    this.page = page;
    this.rights = reviewRights(page.role);
    this.shown = '';
    this.build();
  }

  build() {
    const { rights } = this;
    this.status = h('span', { class: 'review-status', id: 'review-status', 'data-status': 'none' }, STATUS_TEXT.none);
    this.by = h('span', { class: 'review-by muted' });
    this.reason = h('span', { class: 'review-reason', id: 'review-reason', hidden: true });
    this.issueCount = h('span', { class: 'issue-count', id: 'issue-count' });
    this.issueButton = rights.openIssue
      ? h('button', { type: 'button', class: 'issue-tool', 'aria-pressed': 'false', title: 'Issue tool: click a point or a vertex to pin an issue there (C)', onclick: () => this.page.issueTool() }, '⚑ Issue')
      : null;
    this.accept = rights.review ? h('button', { type: 'button', class: 'accept', title: 'Accept this image (its issues resolved first)', onclick: () => this.decide({ type: 'accept_review' }) }, '✓ Accept') : null;
    this.reject = rights.review ? h('button', { type: 'button', class: 'reject', title: 'Send this image back with a reason', onclick: () => this.askReason() }, '✗ Reject…') : null;
    this.reopen = rights.review ? h('button', { type: 'button', class: 'reopen', title: 'Back to "to review"', onclick: () => this.decide({ type: 'reopen_review' }) }, '↺ Reopen') : null;
    const parts = [h('span', { class: 'bar-title' }, 'Review'), this.status, this.by, this.reason, h('span', { class: 'spacer' }), this.issueCount, this.issueButton, this.accept, this.reject, this.reopen];
    this.host.replaceChildren(...parts.filter(Boolean));
  }

  // The bar for the item's review state and its open issues (cheap when nothing changed).
  render(review, openIssues) {
    const stopped = this.page.stopped?.() ?? null;
    const key = `${review.status}|${review.reason}|${review.actor}|${openIssues}|${this.page.issueToolOn()}|${stopped}`;
    if (key === this.shown) return;
    this.shown = key;
    this.status.dataset.status = review.status;
    this.status.textContent = STATUS_TEXT[review.status] ?? review.status;
    document.body.dataset.review = review.status;
    // The reason is the reviewer's words: shown as text, never as markup.
    this.reason.hidden = review.status !== 'rejected' || !review.reason;
    this.reason.textContent = review.status === 'rejected' && review.reason ? review.reason : '';
    this.reason.title = this.reason.textContent;
    this.by.textContent = '';
    if (review.actor !== null && review.status !== 'none') {
      this.page.people.name(review.actor, review.seq).then((name) => {
        if (this.shown === key) this.by.textContent = review.status === 'to_review' ? `reopened by ${name}` : `by ${name}`;
      });
    }
    this.issueCount.textContent = openIssues ? `${openIssues} open issue${openIssues === 1 ? '' : 's'}` : '';
    this.issueCount.dataset.open = String(openIssues);
    if (this.issueButton) {
      const on = this.page.issueToolOn();
      this.issueButton.classList.toggle('active', on);
      this.issueButton.setAttribute('aria-pressed', String(on));
      this.issueButton.disabled = stopped !== null;
      if (stopped) this.issueButton.title = stopped;
    }
    if (!this.rights.review) return;
    if (stopped) {
      // Every redraw says the same: the buttons would only send commands the page refuses.
      for (const button of [this.accept, this.reject, this.reopen]) {
        button.disabled = true;
        button.title = stopped;
      }
      return;
    }
    // Only a saved, labeled image is reviewed (the domain says so too); Reopen once it was decided.
    const reviewable = review.status !== 'none';
    const why = reviewable ? null : 'Only a saved image with shapes can be reviewed';
    this.accept.disabled = !reviewable || review.status === 'accepted';
    this.reject.disabled = !reviewable || review.status === 'rejected';
    this.reopen.hidden = review.status !== 'accepted' && review.status !== 'rejected';
    this.accept.title = why ?? (openIssues ? `Resolve the ${openIssues} open issue${openIssues === 1 ? '' : 's'} first (the annotator does)` : 'Accept this image');
    this.reject.title = why ?? 'Send this image back with a reason';
  }

  async decide(command) {
    try {
      await this.page.send(command);
    } catch {
      // the refusal is already shown
    }
  }

  // Reject: a reason is asked (plain text, up to REASON_MAX characters), then sent.
  async askReason() {
    const field = h('textarea', { id: 'reject-reason', rows: '4', maxlength: String(REASON_MAX), 'aria-label': 'Reason', placeholder: 'What is wrong, for the annotator' });
    const body = h('div', { class: 'reason-form' }, h('p', {}, 'The annotator sees this reason on the image. Pin issues on the spots that need fixing.'), field);
    const asked = this.page.ask({ title: 'Reject this image?', body, buttons: [{ label: 'Cancel', value: null }, { label: 'Reject', value: 'reject', danger: true }] });
    field.focus();
    if ((await asked) !== 'reject') return;
    const reason = field.value.trim();
    if (!reason) return this.page.refuse('empty_reason', 'A rejection needs a reason: say what to fix.');
    await this.decide({ type: 'reject_review', reason });
  }
}

const REVIEW_EVENTS = new Set(['review_accepted', 'review_rejected', 'review_reopened', 'issue_opened', 'issue_commented', 'issue_resolved', 'issue_reopened']);

// Another person's review event, in words for the notification area ("bob rejected this image: “…”",
// "ann resolved issue 1"); null for any other event. `numberOf(issueId)` is the issue's number on the
// pins, `shapeName(shapeId)` names a shape ("cat #3"). The words are text: notices show them as text.
export function reviewEventText(event, who, { numberOf, shapeName }) {
  if (!REVIEW_EVENTS.has(event.type)) return null;
  const p = event.payload ?? {};
  const issue = () => `issue ${numberOf(p.issue_id) ?? ''}`.trim();
  const clip = (text) => (text.length > 140 ? `${text.slice(0, 139)}…` : text);
  switch (event.type) {
    case 'review_accepted':
      return `${who} accepted this image.`;
    case 'review_rejected':
      return `${who} rejected this image: “${clip(p.reason ?? '')}”`;
    case 'review_reopened':
      return `${who} reopened the review of this image: it is to review again.`;
    case 'issue_opened':
      return `${who} opened ${issue()}${p.shape_id ? ` on ${shapeName(p.shape_id)}` : ''}: “${clip(p.text ?? '')}”`;
    case 'issue_commented':
      return `${who} commented on ${issue()}: “${clip(p.text ?? '')}”`;
    case 'issue_resolved':
      return `${who} resolved ${issue()}.`;
    default:
      return `${who} reopened ${issue()}.`;
  }
}
