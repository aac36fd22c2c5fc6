/*
 * Chat page for the cited question-answering service.
 *
 * Security rule for this file: text from the server (answers, titles, article
 * bodies) is only ever put in the DOM as text nodes / textContent; no API that
 * parses HTML is used, so "<script>" in an article shows as literal text.
 */
'use strict';

(() => {
  const STORAGE_KEY = 'cited-answers:conversation-id';
  const TOP_K = 5;
  // A stuck backend should not leave "Searching…" on screen forever.
  const REQUEST_TIMEOUT_MS = 60000;

  const form = document.getElementById('ask-form');
  const input = document.getElementById('question');
  const sendButton = document.getElementById('send');
  const thread = document.getElementById('thread');
  const emptyState = document.getElementById('empty-state');
  const newConversationButton = document.getElementById('new-conversation');
  const statusRegion = document.getElementById('status');
  const articleFilter = document.getElementById('article-filter');

  const panel = document.getElementById('article-panel');
  const panelTitle = document.getElementById('article-title');
  const panelMeta = document.getElementById('article-meta');
  const panelStandfirst = document.getElementById('article-standfirst');
  const panelCiteNote = document.getElementById('article-cite-note');
  const panelJump = document.getElementById('article-jump');
  const panelLink = document.getElementById('article-link');
  const panelText = document.getElementById('article-text');
  const panelClose = document.getElementById('article-close');

  const state = {
    conversationId: null,
    busy: false,
    // Bumped by "New conversation": responses that arrive for an older
    // generation belong to a thread that no longer exists and are dropped.
    generation: 0,
    pending: null, // AbortController of the in-flight /api/ask request
    restoring: false, // history fetch in progress (keeps the empty-state hidden)
  };

  // id -> title of every article offered in the "Search in" list.
  const articleTitles = new Map();

  const reducedMotion = window.matchMedia
    && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  /* ------------------------------------------------------------------ *
   * Small helpers
   * ------------------------------------------------------------------ */

  /**
   * Create an element. String children become text nodes, never markup.
   * props: class, text, dataset or plain attributes (null/false skipped).
   */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = value;
        else node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false || child === '') continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  const str = (value) => (typeof value === 'string' ? value : (value == null ? '' : String(value)));
  const isInt = (value) => Number.isInteger(value);
  const clamp = (n, lo, hi) => Math.min(Math.max(n, lo), hi);

  function announce(message) {
    // Clearing first makes screen readers repeat an identical message.
    statusRegion.textContent = '';
    window.setTimeout(() => { statusRegion.textContent = message; }, 50);
  }

  function reveal(node, block) {
    node.scrollIntoView({ block: block || 'nearest', behavior: reducedMotion ? 'auto' : 'smooth' });
  }

  function focusInput() {
    // preventScroll: the composer is always visible; don't jump the thread.
    input.focus({ preventScroll: true });
  }

  function byline(author, outlet) {
    return [str(author).trim(), str(outlet).trim()].filter(Boolean).join(' · ');
  }

  function formatDate(value) {
    const raw = str(value).trim();
    if (!raw) return '';
    const date = new Date(raw);
    if (Number.isNaN(date.getTime())) return raw;
    // A bare "YYYY-MM-DD" parses as UTC midnight; showing it in local time
    // would move it to the previous day west of Greenwich.
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(raw);
    return date.toLocaleDateString(undefined, {
      year: 'numeric', month: 'long', day: 'numeric', timeZone: dateOnly ? 'UTC' : undefined,
    });
  }

  function safeHttpUrl(value) {
    // An article's url is the original's address: absolute, or no link at all. Resolved
    // against this page, an empty or relative one would link to the chat page itself.
    const raw = str(value).trim();
    if (!raw) return null;
    // Only http(s): a "javascript:" URL in the data must not become a live link.
    try {
      const url = new URL(raw);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  /* ------------------------------------------------------------------ *
   * Conversation id persistence (localStorage may be unavailable, e.g.
   * disabled storage or some private modes: then we just don't persist).
   * ------------------------------------------------------------------ */

  function loadStoredId() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (_) { return null; }
  }

  function setConversationId(id) {
    state.conversationId = id || null;
    try {
      if (id) window.localStorage.setItem(STORAGE_KEY, id);
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (_) { /* not persisted; the in-memory id still works */ }
  }

  /* ------------------------------------------------------------------ *
   * API access
   * ------------------------------------------------------------------ */

  class ApiError extends Error {
    constructor(message, status, aborted) {
      super(message);
      this.status = status || 0;
      this.aborted = Boolean(aborted);
    }
  }

  /** Turn a FastAPI error body into one readable sentence. */
  function errorDetail(body) {
    if (!body || typeof body !== 'object') return '';
    const detail = body.detail;
    if (typeof detail === 'string') return detail;
    const describe = (item) => {
      if (typeof item === 'string') return item;
      if (!item || typeof item !== 'object' || !item.msg) return '';
      // Validation errors carry loc like ["body", "question"]: name the field.
      const loc = Array.isArray(item.loc) ? item.loc.filter((p) => p !== 'body') : [];
      const field = loc.length ? String(loc[loc.length - 1]) : '';
      return field ? `${field}: ${item.msg}` : String(item.msg);
    };
    if (Array.isArray(detail)) return detail.map(describe).filter(Boolean).join('; ');
    return describe(detail);
  }

  async function apiFetch(path, options) {
    const opts = options || {};
    const controller = new AbortController();
    let timedOut = false;
    const timer = window.setTimeout(() => { timedOut = true; controller.abort(); }, REQUEST_TIMEOUT_MS);
    const outer = opts.signal;
    const onOuterAbort = () => controller.abort();
    if (outer) {
      if (outer.aborted) controller.abort();
      else outer.addEventListener('abort', onOuterAbort, { once: true });
    }

    try {
      let response;
      let raw = '';
      try {
        response = await fetch(path, {
          method: opts.method || 'GET',
          headers: Object.assign({ Accept: 'application/json' },
            opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
          signal: controller.signal,
        });
        raw = await response.text();
      } catch (_) {
        if (timedOut) throw new ApiError('The server took too long to respond. Please try again.');
        if (outer && outer.aborted) throw new ApiError('Request cancelled.', 0, true);
        throw new ApiError('Could not reach the server. Check your connection and try again.');
      }

      let body = null;
      try { body = raw ? JSON.parse(raw) : null; } catch (_) { body = null; }

      if (!response.ok) {
        const detail = errorDetail(body);
        throw new ApiError(detail || `The server returned an error (HTTP ${response.status}).`, response.status);
      }
      if (opts.allowEmpty) return body;
      if (!body || typeof body !== 'object') {
        throw new ApiError('The server sent a response this page could not read.', response.status);
      }
      return body;
    } finally {
      window.clearTimeout(timer);
      if (outer) outer.removeEventListener('abort', onOuterAbort);
    }
  }

  /* ------------------------------------------------------------------ *
   * Offsets and highlighting
   *
   * The backend is Python, whose string offsets count code points, while
   * JS strings count UTF-16 units. They differ after any astral character
   * (emoji, some CJK), so offsets are converted rather than used raw.
   * ------------------------------------------------------------------ */

  /** Returns a function mapping a code-point offset in `text` to a UTF-16 index. */
  function codePointIndexer(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return (cp) => clamp(cp, 0, text.length);
    return (cp) => {
      let unit = 0;
      for (let i = 0; i < cp && unit < text.length; i += 1) {
        unit += text.codePointAt(unit) > 0xffff ? 2 : 1;
      }
      return unit;
    };
  }

  /**
   * Where the answer sentence sits inside a passage string, as [a, b) UTF-16
   * indices, or null. `highlight` is in article offsets, so it is made
   * relative to the passage start first.
   */
  function sentenceRange(passageText, citation) {
    const hl = citation && citation.highlight;
    if (!Array.isArray(hl) || hl.length !== 2 || !isInt(hl[0]) || !isInt(hl[1]) || !isInt(citation.start)) {
      return null;
    }
    const toUnit = codePointIndexer(passageText);
    const a = toUnit(hl[0] - citation.start);
    const b = toUnit(hl[1] - citation.start);
    return b > a ? [a, b] : null;
  }

  /** Where the cited passage sits in the full article text: [s, e) or null. */
  function locatePassage(fullText, citation) {
    const passage = str(citation.text);
    let byOffsets = null;
    if (isInt(citation.start) && isInt(citation.end) && citation.end > citation.start) {
      const toUnit = codePointIndexer(fullText);
      const s = toUnit(citation.start);
      const e = toUnit(citation.end);
      if (e > s) byOffsets = [s, e];
    }
    if (byOffsets && (!passage || fullText.slice(byOffsets[0], byOffsets[1]) === passage)) return byOffsets;
    // Offsets and text disagree (e.g. the article was re-ingested): trust the text.
    if (passage) {
      const found = fullText.indexOf(passage);
      if (found >= 0) return [found, found + passage.length];
    }
    return byOffsets;
  }

  /** Text split into nodes with [a, b) wrapped in <mark class=markClass>. */
  function markedNodes(text, range, markClass) {
    if (!range) return [text];
    const [a, b] = range;
    return [text.slice(0, a), h('mark', { class: markClass }, text.slice(a, b)), text.slice(b)];
  }

  /* ------------------------------------------------------------------ *
   * Thread rendering
   * ------------------------------------------------------------------ */

  function updateEmptyState() {
    emptyState.hidden = thread.childElementCount > 0 || state.restoring;
  }

  function questionBubble(question, filterTitle) {
    return h('div', { class: 'question-row' },
      h('p', { class: 'question-bubble' },
        h('span', { class: 'visually-hidden' }, 'You asked: '),
        str(question),
        filterTitle ? h('span', { class: 'filter-note' }, `in: ${filterTitle}`) : null));
  }

  function errorBox(message) {
    return h('div', { class: 'error', role: 'alert' },
      h('strong', null, 'Something went wrong. '), str(message));
  }

  /**
   * A citation of a stored turn whose article was deleted, or replaced by one
   * that no longer holds the passage: the server sends no text for it, and
   * there is nothing to open.
   */
  function removedSourceCard(rank) {
    return h('li', { class: 'source-card source-removed', 'data-rank': rank },
      h('span', { class: 'rank' }, `[${rank}]`),
      ' ',
      h('span', { class: 'source-removed-note' }, 'Removed from the corpus'));
  }

  function sourceCard(citation, index) {
    const rank = isInt(citation.rank) ? citation.rank : index + 1;
    if (citation.removed === true) return removedSourceCard(rank);
    const title = str(citation.title).trim() || 'Untitled article';
    const text = str(citation.text);

    const button = h('button', {
      type: 'button',
      class: 'citation',
      'data-rank': rank,
      'data-article-id': str(citation.article_id),
    },
    h('span', { class: 'rank' }, `[${rank}]`),
    ' ',
    h('span', { class: 'source-title' }, title),
    h('span', { class: 'visually-hidden' }, ' (open article)'));
    button.addEventListener('click', () => openArticle(citation, button));

    const author = str(citation.author).trim();
    const outlet = str(citation.outlet).trim();
    const published = str(citation.published).trim();
    const parts = [
      author ? h('span', { class: 'source-author' }, author) : null,
      outlet ? h('span', { class: 'source-outlet' }, outlet) : null,
      published ? h('time', { class: 'source-date', datetime: published }, published) : null,
    ].filter(Boolean);
    const meta = parts.length
      ? h('p', { class: 'source-meta' }, ...parts.flatMap((part, i) => (i ? [' · ', part] : [part])))
      : null;

    // Other outlets' copies of the same syndicated story, earliest first.
    const copies = Array.isArray(citation.also_in) ? citation.also_in : [];
    const names = copies.map((copy) => str(copy.outlet).trim() || str(copy.url).trim()).filter(Boolean);
    const also = names.length
      ? h('p', { class: 'source-also' }, `Also reported by ${names.join(', ')}`)
      : null;

    return h('li', { class: 'source-card' },
      button,
      meta,
      also,
      text ? h('blockquote', { class: 'source-passage' },
        ...markedNodes(text, sentenceRange(text, citation), 'quote-highlight')) : null);
  }

  /* ------------------------------------------------------------------ *
   * Feedback (thumbs up / down) on a reply
   * ------------------------------------------------------------------ */

  const SVG_NS = 'http://www.w3.org/2000/svg';
  // Static icon outlines (not server data), drawn with stroke="currentColor".
  const THUMB_PATHS = {
    up: 'M7 10v12M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z',
    down: 'M17 14V2M9 18.12 10 14H4.17a2 2 0 0 1-1.92-2.56l2.33-8A2 2 0 0 1 6.5 2H20a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-2.76a2 2 0 0 0-1.79 1.11L12 22a3.13 3.13 0 0 1-3-3.88Z',
  };

  function thumbIcon(kind) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'feedback-icon');
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', THUMB_PATHS[kind]);
    svg.append(path);
    return svg;
  }

  /**
   * Thumbs up / down for one turn. `conversationId` and `turn` are fixed
   * when the reply is drawn, so a later "New conversation" cannot redirect
   * the rating to another conversation.
   */
  function feedbackBar(conversationId, turn, stored) {
    const up = h('button', {
      type: 'button', class: 'feedback-button feedback-up', 'aria-label': 'Helpful', 'aria-pressed': 'false',
    }, thumbIcon('up'));
    const down = h('button', {
      type: 'button', class: 'feedback-button feedback-down', 'aria-label': 'Not helpful', 'aria-pressed': 'false',
    }, thumbIcon('down'));
    const status = h('span', { class: 'feedback-status', role: 'status' });
    const bar = h('div', { class: 'feedback', role: 'group', 'aria-label': 'Was this answer helpful?' },
      h('span', { class: 'feedback-prompt', 'aria-hidden': 'true' }, 'Helpful?'), up, down, status);

    const buttons = { up, down };
    let current = stored === 'up' || stored === 'down' ? stored : null;
    let sending = false;

    const showPressed = () => {
      up.setAttribute('aria-pressed', String(current === 'up'));
      down.setAttribute('aria-pressed', String(current === 'down'));
    };
    showPressed();

    async function send(rating) {
      if (sending || rating === current) return;
      sending = true;
      bar.setAttribute('aria-busy', 'true');
      status.classList.remove('is-error');
      status.textContent = '';
      try {
        await apiFetch('/api/feedback', {
          method: 'POST',
          body: { conversation_id: conversationId, turn, rating },
          allowEmpty: true,
        });
        current = rating;
        showPressed();
        status.textContent = 'Thanks';
      } catch (err) {
        status.classList.add('is-error');
        status.textContent = err.message;
      } finally {
        sending = false;
        bar.removeAttribute('aria-busy');
      }
    }

    for (const [rating, button] of Object.entries(buttons)) {
      button.addEventListener('click', () => send(rating));
    }
    return bar;
  }

  /**
   * meta: { conversationId, turn, feedback } locating this reply for
   * feedback; without a conversation id and turn index no buttons are shown.
   */
  function renderReply(data, meta) {
    const answered = data.answered === true;
    const citations = Array.isArray(data.citations) ? data.citations.filter((c) => c && typeof c === 'object') : [];
    const reply = h('div', { class: 'reply', 'data-answered': String(answered) });

    if (answered && data.answer_removed === true) {
      // A stored answer quoted from an article since removed: not shown.
      reply.append(h('p', { class: 'answer answer-removed' },
        'This answer quoted an article that has been removed from the corpus.'));
    } else if (answered) {
      // The exact answer (a name, a date, an expansion...) first, the sentence it is in below.
      const span = data.answer_span;
      if (span && typeof span === 'object' && str(span.text).trim()) {
        reply.append(h('p', { class: 'answer-span' }, h('strong', {}, str(span.text))));
      }
      reply.append(h('p', { class: 'answer' }, str(data.answer)));
    } else if (data.refusal) {
      reply.append(h('div', { class: 'not-found' },
        h('p', { class: 'not-found-title' }, 'Nothing from that period'),
        h('p', { class: 'not-found-text' }, 'There are no articles from that period.')));
    } else {
      reply.append(h('div', { class: 'not-found' },
        h('p', { class: 'not-found-title' }, 'Not in the articles'),
        h('p', { class: 'not-found-text' },
          citations.length
            ? 'None of the articles answers this question. The closest passages are listed below as related reading.'
            : 'None of the articles answers this question.')));
    }

    const period = windowLine(data.time_window);
    if (period) reply.append(period);

    if (citations.length) {
      reply.append(
        h('h3', { class: 'sources-heading' }, answered ? 'Sources' : 'Related reading'),
        h('ol', { class: 'sources' }, citations.map(sourceCard)),
      );
    }

    if (meta && meta.conversationId && isInt(meta.turn) && meta.turn >= 0) {
      reply.append(feedbackBar(meta.conversationId, meta.turn, meta.feedback));
    }
    return reply;
  }

  /** "Articles published 2025-04-07 to 2025-04-13 (last week)", or null without a window. */
  function windowLine(win) {
    if (!win || typeof win !== 'object' || !str(win.from)) return null;
    const days = str(win.from) === str(win.to) ? str(win.from) : `${str(win.from)} to ${str(win.to)}`;
    const words = str(win.from_question) ? ` (${str(win.from_question)})` : '';
    const text = win.matched === false
      ? `No articles published ${days}${words}: answered from every date`
      : `Articles published ${days}${words}`;
    return h('p', { class: 'time-window' }, text);
  }

  // "timeline of …", "what happened with …": answered by /api/timeline, as qa/timeline.py reads it.
  const TIMELINE_ASK = /^\s*(?:(?:show|give|make)\s+(?:me\s+)?)?(?:a\s+|the\s+)?(?:timeline|chronology|history)\s+(?:of|for|on)\s+|^\s*what\s+(?:has\s+|have\s+)?happened\s+(?:with|to)\s+/i;

  function renderTimeline(data) {
    const events = Array.isArray(data.events) ? data.events.filter((e) => e && typeof e === 'object') : [];
    const reply = h('div', { class: 'reply timeline', 'data-answered': String(events.length > 0) });
    if (!events.length) {
      reply.append(h('div', { class: 'not-found' },
        h('p', { class: 'not-found-title' }, data.refusal ? 'Nothing from that period' : 'No dated events'),
        h('p', { class: 'not-found-text' }, 'The articles hold no dated events about this.')));
    } else {
      reply.append(h('ol', { class: 'timeline-events' }, events.map((e) => {
        const when = str(e.provenance) === 'stated' ? str(e.date) : `${str(e.date)} (published)`;
        const also = Array.isArray(e.also) && e.also.length ? ` · also in ${e.also.length} more` : '';
        return h('li', { class: 'timeline-event' },
          h('time', { datetime: str(e.date) }, when),
          h('p', { class: 'timeline-sentence' }, str(e.sentence)),
          h('p', { class: 'timeline-source' }, `${str(e.title)}, chars ${e.start}–${e.end}${also}`));
      })));
    }
    const period = windowLine(data.time_window);
    if (period) reply.append(period);
    return reply;
  }

  function renderTurn(question, data, meta) {
    return h('div', { class: 'turn' }, questionBubble(question), renderReply(data, meta));
  }

  /* ------------------------------------------------------------------ *
   * Asking
   * ------------------------------------------------------------------ */

  function setBusy(busy) {
    state.busy = busy;
    sendButton.disabled = busy;
    form.setAttribute('aria-busy', String(busy));
  }

  /** The article chosen in "Search in", as { id, title }, or null for all articles. */
  function selectedFilter() {
    const id = articleFilter.value;
    if (!id) return null;
    return { id, title: articleTitles.get(id) || id };
  }

  async function ask(question, filter) {
    const generation = state.generation;
    const loading = h('div', { class: 'loading' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Searching…');
    const turn = h('div', { class: 'turn' }, questionBubble(question, filter && filter.title), loading);
    thread.append(turn);
    updateEmptyState();
    reveal(loading);
    setBusy(true);

    const controller = new AbortController();
    state.pending = controller;
    const body = { question, top_k: TOP_K, conversation_id: state.conversationId };
    try {
      if (filter) body.filters = { article_ids: [filter.id] };
      if (TIMELINE_ASK.test(question)) {
        const params = new URLSearchParams({ q: question });
        if (filter) params.append('article_id', filter.id);
        const found = await apiFetch(`/api/timeline?${params}`, { signal: controller.signal });
        if (generation !== state.generation) return;
        loading.replaceWith(renderTimeline(found));
        reveal(turn, 'start');
        return;
      }
      const data = await apiFetch('/api/ask', {
        method: 'POST',
        body,
        signal: controller.signal,
      });
      if (generation !== state.generation) return;
      if (data.conversation_id) setConversationId(str(data.conversation_id));
      loading.replaceWith(renderReply(data, {
        conversationId: state.conversationId,
        turn: data.turn,
        feedback: null,
      }));
      reveal(turn, 'start');
    } catch (err) {
      if (generation !== state.generation) return;
      if (err.status === 404 && body.conversation_id) {
        // The server no longer holds this conversation (expired): the next question starts
        // a new one.
        setConversationId(null);
        loading.replaceWith(errorBox(
          'Your earlier conversation has expired on the server. Ask again to start a new one.'));
      } else {
        loading.replaceWith(errorBox(err.message));
      }
      // Give the question back so retrying is one keypress, unless the
      // user has already started typing something else.
      if (!input.value.trim()) input.value = question;
    } finally {
      if (generation === state.generation) {
        state.pending = null;
        setBusy(false);
        focusInput();
      }
    }
  }

  /** On load: re-render the stored conversation, if the server still knows it. */
  async function restoreConversation() {
    const id = loadStoredId();
    if (!id) return;
    state.conversationId = id;
    state.restoring = true;
    updateEmptyState();
    const generation = state.generation;

    // History goes into its own container at the top of the thread, so a
    // question sent while it loads still ends up after it.
    const history = h('div', { class: 'history' },
      h('p', { class: 'history-loading' }, 'Loading your previous conversation…'));
    thread.prepend(history);

    try {
      const data = await apiFetch(`/api/conversations/${encodeURIComponent(id)}`);
      if (generation !== state.generation) return;
      const turns = Array.isArray(data.turns) ? data.turns : [];
      const conversationId = str(data.id) || id;
      // Each turn carries its index (older turns may have been dropped, so
      // it need not be the position in the array); feedback names it.
      history.replaceChildren(...turns
        .map((t) => (t && typeof t === 'object'
          ? renderTurn(t.question, t, { conversationId, turn: t.turn, feedback: t.feedback })
          : null))
        .filter(Boolean));
      if (!history.childElementCount) history.remove();
      const last = thread.lastElementChild;
      if (last) last.scrollIntoView({ block: 'end' });
    } catch (err) {
      if (generation !== state.generation) return;
      if (err.status === 404) {
        // The server forgot it (restart, expiry): start fresh, say nothing.
        history.remove();
        if (state.conversationId === id) setConversationId(null);
      } else {
        history.replaceChildren(errorBox(`Could not load your previous conversation. ${err.message}`));
      }
    } finally {
      if (generation === state.generation) {
        state.restoring = false;
        updateEmptyState();
      }
    }
  }

  /** Fill "Search in" with every article; on failure only "All articles" stays. */
  async function loadArticles() {
    let data;
    try {
      data = await apiFetch('/api/articles?limit=10000');
    } catch (err) {
      console.warn('Could not load the article list for "Search in":', err.message);
      return;
    }
    const articles = Array.isArray(data.articles) ? data.articles : [];
    const options = document.createDocumentFragment();
    for (const article of articles) {
      if (!article || typeof article !== 'object') continue;
      const id = str(article.id);
      if (!id || articleTitles.has(id)) continue;
      const title = str(article.title).trim() || id;
      const outlet = str(article.outlet).trim();
      articleTitles.set(id, title);
      const option = document.createElement('option');
      option.value = id;
      option.textContent = outlet ? `${title} — ${outlet}` : title;
      options.append(option);
    }
    articleFilter.append(options);
  }

  function newConversation() {
    state.generation += 1;
    if (state.pending) state.pending.abort();
    state.pending = null;
    state.restoring = false;
    setBusy(false);
    setConversationId(null);
    thread.replaceChildren();
    updateEmptyState();
    announce('Started a new conversation.');
    focusInput();
  }

  /* ------------------------------------------------------------------ *
   * Article panel
   * ------------------------------------------------------------------ */

  const articleCache = new Map(); // id -> Promise<article>; failures are evicted
  let panelOpener = null;
  let panelToken = 0; // stale article loads (panel closed / another opened) are ignored
  let panelPassage = null;

  function getArticle(id) {
    if (!articleCache.has(id)) {
      const request = apiFetch(`/api/articles/${encodeURIComponent(id)}`);
      request.catch(() => articleCache.delete(id));
      articleCache.set(id, request);
    }
    return articleCache.get(id);
  }

  function showPanel() {
    if (!panel.open) {
      if (typeof panel.showModal === 'function') panel.showModal();
      else panel.setAttribute('open', ''); // very old browsers: plain overlay
    }
    document.body.classList.add('panel-open');
    panelClose.focus();
  }

  function closePanel() {
    if (!panel.open) return;
    if (typeof panel.close === 'function') panel.close();
    else {
      panel.removeAttribute('open');
      panel.dispatchEvent(new Event('close'));
    }
  }

  function scrollToPassage() {
    if (panelPassage && panelPassage.isConnected) panelPassage.scrollIntoView({ block: 'center' });
  }

  async function openArticle(citation, opener) {
    panelOpener = opener;
    panelToken += 1;
    const token = panelToken;
    const rank = isInt(citation.rank) ? citation.rank : null;
    const articleId = str(citation.article_id);

    // Show what we already know from the citation while the article loads.
    panelTitle.textContent = str(citation.title).trim() || 'Article';
    panelMeta.textContent = byline(citation.author, citation.outlet);
    panelStandfirst.hidden = true;
    panelLink.hidden = true;
    panelJump.hidden = true;
    panelPassage = null;
    panelCiteNote.textContent = '';
    panelText.replaceChildren(h('p', { class: 'panel-loading' }, 'Loading article…'));
    panelText.setAttribute('aria-busy', 'true');
    showPanel();

    try {
      if (!articleId) throw new ApiError('This citation does not name an article.');
      const article = await getArticle(articleId);
      if (token !== panelToken || !panel.open) return;

      panelTitle.textContent = str(article.title).trim() || panelTitle.textContent;
      panelMeta.textContent = [
        byline(article.author, article.outlet),
        str(article.section).trim(),
        formatDate(article.published),
      ].filter(Boolean).join(' · ');

      const standfirst = str(article.standfirst).trim();
      panelStandfirst.textContent = standfirst;
      panelStandfirst.hidden = !standfirst;

      const url = safeHttpUrl(article.url);
      if (url) panelLink.setAttribute('href', url);
      panelLink.hidden = !url;

      const fullText = str(article.text);
      const range = locatePassage(fullText, citation);
      if (range) {
        const [s, e] = range;
        const passageText = fullText.slice(s, e);
        panelPassage = h('mark', { class: 'passage-highlight' },
          ...markedNodes(passageText, sentenceRange(passageText, citation), 'sentence-highlight'));
        panelText.replaceChildren(fullText.slice(0, s), panelPassage, fullText.slice(e));
        panelCiteNote.textContent = rank !== null
          ? `The passage cited as [${rank}] is highlighted.`
          : 'The cited passage is highlighted.';
        panelJump.hidden = false;
        scrollToPassage();
      } else {
        panelText.replaceChildren(fullText);
        panelCiteNote.textContent = 'The cited passage could not be located in this article.';
      }
    } catch (err) {
      if (token !== panelToken) return;
      panelText.replaceChildren(errorBox(`Could not load the article. ${err.message}`));
    } finally {
      if (token === panelToken) panelText.removeAttribute('aria-busy');
    }
  }

  panel.addEventListener('close', () => {
    panelToken += 1;
    document.body.classList.remove('panel-open');
    const target = panelOpener && panelOpener.isConnected ? panelOpener : input;
    panelOpener = null;
    target.focus();
  });

  // Handled here rather than left to the native "cancel" so that Escape
  // behaves the same in the showModal() and fallback paths.
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      closePanel();
    }
  });

  // A click whose target is the <dialog> itself landed on the backdrop,
  // because .panel-inner fills the whole dialog box.
  panel.addEventListener('click', (event) => {
    if (event.target === panel) closePanel();
  });

  panelClose.addEventListener('click', closePanel);
  panelJump.addEventListener('click', scrollToPassage);

  /* ------------------------------------------------------------------ *
   * Form wiring
   * ------------------------------------------------------------------ */

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (state.busy) return;
    const question = input.value.trim();
    if (!question) {
      focusInput();
      return;
    }
    input.value = '';
    ask(question, selectedFilter());
  });

  input.addEventListener('keydown', (event) => {
    // isComposing / 229: Enter that confirms an IME composition must not send.
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    if (typeof form.requestSubmit === 'function') form.requestSubmit();
    else form.dispatchEvent(new Event('submit', { cancelable: true }));
  });

  newConversationButton.addEventListener('click', newConversation);

  updateEmptyState();
  loadArticles();
  restoreConversation();
})();
