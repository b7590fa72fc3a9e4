// The item websocket (/ws/items/<id>/): hello with the last seq held, commands with their ids, acks and
// refusals, presence and cursors; reconnects by itself and re-sends commands that got no answer.
// A heartbeat tells the truth about the connection: a ping every HEARTBEAT_MS, and a socket that has
// heard nothing (no pong, no frame) for SILENCE_MS is taken for lost, whatever the browser says of it
// (a cut network can leave a socket "open" for minutes). The status then says how many of my changes
// wait ("offline - 3 changes waiting"), and says "live" again only once they are stored.

import { wsUrl } from '../api.js';

const CLOSE_FOR_GOOD = new Set([4401, 4404]);
// The user's access to the job fell while the page was open (removed, a lower role, deactivated): the
// page loads again, as the server now renders it for what is left (or says there is no such image).
const CLOSE_ACCESS_REVOKED = 4403;
const RELOAD_AFTER_MS = 2000;
const CURSOR_EVERY_MS = 40;
const HEARTBEAT_MS = 2000;
const SILENCE_MS = 5000;

const changes = (n) => `${n} change${n === 1 ? '' : 's'}`;

export class ItemSocket {
  // handlers: sinceSeq() -> number, onEvent(event), onCaughtUp(seq), onAck(id, seq), onRejected(id, code,
  // message), onPresence(frame), onCursor(frame), onItemDeleted(frame), onError(frame),
  // onStatus('on'|'off'|'storing'|'closed', text): 'storing' is connected again with my waiting changes
  // on their way
  constructor(itemId, handlers) {
    this.itemId = itemId;
    this.handlers = handlers;
    this.unanswered = new Map(); // command_id -> frame, in sending order
    this.ready = false;
    this.attempt = 0;
    this.cursorAt = 0;
    this.cursorTimer = 0;
    this.cursorLatest = null;
    this.stopped = false;
    this.heard = 0; // performance.now() when the socket last heard anything
    this.resending = false; // back online, re-sending what waited
  }

  connect() {
    const socket = new WebSocket(wsUrl(`/ws/items/${this.itemId}/`));
    this.socket = socket;
    // Events of a socket given up for lost (the heartbeat) are not this page's any more.
    const current = () => this.socket === socket;
    socket.addEventListener('open', () => {
      if (!current()) return;
      this.attempt = 0;
      this.heard = performance.now();
      this.raw({ type: 'hello', since_seq: this.handlers.sinceSeq() });
      this.pinger = setInterval(() => this.beat(), HEARTBEAT_MS);
    });
    socket.addEventListener('message', (message) => {
      if (!current()) return;
      this.heard = performance.now();
      this.dispatch(JSON.parse(message.data));
    });
    socket.addEventListener('close', (event) => {
      if (!current()) return;
      clearInterval(this.pinger);
      this.ready = false;
      if (this.stopped) return;
      if (event.code === CLOSE_ACCESS_REVOKED) {
        this.handlers.onStatus('closed', 'your access to this job changed: reloading');
        setTimeout(() => window.location.reload(), RELOAD_AFTER_MS);
        return;
      }
      if (CLOSE_FOR_GOOD.has(event.code)) {
        this.handlers.onStatus('closed', event.code === 4401 ? 'signed out: log in again' : 'no access to this image');
        return;
      }
      this.reconnect();
    });
  }

  // Nothing heard for SILENCE_MS: the connection is lost (the socket may not know it yet); else a ping.
  beat() {
    if (performance.now() - this.heard <= SILENCE_MS) {
      this.raw({ type: 'ping' });
      return;
    }
    const dead = this.socket;
    this.socket = null;
    clearInterval(this.pinger);
    this.ready = false;
    dead.close();
    this.reconnect();
  }

  reconnect() {
    this.showStatus();
    const delay = Math.min(8000, 300 * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), delay);
  }

  // The connection's status in words, with my changes that wait for the server.
  showStatus() {
    const waiting = this.unanswered.size;
    if (!this.ready) this.handlers.onStatus('off', waiting ? `offline - ${changes(waiting)} waiting` : 'offline - reconnecting…');
    else if (waiting && this.resending) this.handlers.onStatus('storing', `back online - storing ${changes(waiting)}`);
    else {
      this.resending = false;
      this.handlers.onStatus('on', 'live');
    }
  }

  stop() {
    this.stopped = true;
    this.socket?.close();
  }

  raw(frame) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  // A gap in the events: ask for everything after what we hold.
  hello(sinceSeq) {
    this.raw({ type: 'hello', since_seq: sinceSeq });
  }

  command(commandId, command) {
    const frame = { type: 'command', command_id: commandId, command };
    this.unanswered.set(commandId, frame);
    if (this.ready) this.raw(frame);
    else this.showStatus(); // one more change waiting
  }

  cursor(x, y) {
    this.cursorLatest = { x, y };
    const wait = this.cursorAt + CURSOR_EVERY_MS - performance.now();
    if (wait <= 0) this.flushCursor();
    else if (!this.cursorTimer) this.cursorTimer = setTimeout(() => this.flushCursor(), wait);
  }

  flushCursor() {
    this.cursorTimer = 0;
    if (!this.cursorLatest || !this.ready) return;
    this.cursorAt = performance.now();
    this.raw({ type: 'cursor', ...this.cursorLatest });
    this.cursorLatest = null;
  }

  dispatch(frame) {
    const h = this.handlers;
    switch (frame.type) {
      case 'event':
        h.onEvent(frame.event);
        break;
      case 'caught_up':
        this.ready = true;
        // Commands sent before a drop got no answer: send them again (a retried id is applied once).
        this.resending = this.unanswered.size > 0;
        this.showStatus();
        h.onCaughtUp?.(frame.seq);
        for (const pending of this.unanswered.values()) this.raw(pending);
        break;
      case 'ack':
        this.unanswered.delete(frame.command_id);
        h.onAck(frame.command_id, frame.seq);
        if (this.resending) this.showStatus();
        break;
      case 'rejected':
        this.unanswered.delete(frame.command_id);
        h.onRejected(frame.command_id, frame.code, frame.message);
        if (this.resending) this.showStatus();
        break;
      case 'presence':
        h.onPresence(frame);
        break;
      case 'cursor':
        h.onCursor(frame);
        break;
      case 'label_classes':
        h.onLabelClasses?.(frame.label_classes);
        break;
      case 'item_deleted':
        h.onItemDeleted?.(frame);
        break;
      case 'error':
        if (frame.code === 'rate_limited' && frame.command_id && this.unanswered.has(frame.command_id)) {
          const again = this.unanswered.get(frame.command_id);
          setTimeout(() => this.raw(again), 1000);
        } else if (frame.code === 'internal_error' && this.unanswered.has(frame.command_id)) {
          this.failedOn(frame);
        } else if (frame.code === 'since_seq_ahead') {
          location.reload();
        } else {
          h.onError(frame);
        }
        break;
      default:
        break;
    }
  }

  // The server failed on a command (a bug, or a database failure its own retries did not cure): nothing
  // of it was stored. It is refused like a rejection, so the page takes it back and says so. It is not
  // sent again: the commands after it may already be stored, and a late repeat would apply out of order.
  failedOn(frame) {
    this.unanswered.delete(frame.command_id);
    this.handlers.onRejected(frame.command_id, frame.code, frame.message);
    if (this.resending) this.showStatus();
  }
}
