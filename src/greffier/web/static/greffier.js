/* Greffier web interface: what every page shares.
 *
 * - t(key): the page's messages (French or English), sent by the server in #greffier-strings.
 * - api(path, options): fetch() on /v1 with the session cookie and the CSRF header; throws
 *   an Error carrying the API's message ({"error": {"message"}}) on a 4xx or 5xx.
 * - streamChat(): a chat completion streamed over SSE, delta by delta, with its citations.
 * - renderAnswer()/renderSources(): an answer with its [n] markers linked to its sources.
 * - the passage dialog: a source link opens its passage in a modal <dialog>.
 * - errorOf(response): the Error an API answer carries, for scripts that fetch themselves.
 * No framework and no build step: plain scripts, served from the package.
 */
"use strict";

const Greffier = (() => {
  const strings = JSON.parse(document.getElementById("greffier-strings").textContent);
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');

  function t(key, values) {
    let text = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.replaceAll(`{${name}}`, String(value));
    }
    return text;
  }

  function csrf() {
    return csrfMeta ? csrfMeta.content : "";
  }

  async function errorOf(response) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (ignored) {
      /* not JSON */
    }
    if (response.status === 401) message = t("js.session_ended");
    const error = new Error(message);
    error.status = response.status;
    return error;
  }

  async function api(path, options = {}) {
    const init = { method: "GET", credentials: "same-origin", ...options };
    init.headers = { "X-CSRF-Token": csrf(), ...(options.headers || {}) };
    if (options.json !== undefined) {
      init.body = JSON.stringify(options.json);
      init.headers["Content-Type"] = "application/json";
      delete init.json;
    }
    const response = await fetch(path, init);
    if (!response.ok) throw await errorOf(response);
    const type = response.headers.get("content-type") || "";
    return type.includes("application/json") ? response.json() : response.text();
  }

  /* Upload with XMLHttpRequest: fetch() cannot report upload progress. */
  function upload(path, formData, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr.response);
        const body = xhr.response;
        const error = new Error(
          (body && body.error && body.error.message) || `${xhr.status} ${xhr.statusText}`,
        );
        error.status = xhr.status;
        reject(error);
      });
      xhr.addEventListener("error", () => reject(new Error(t("js.network_error"))));
      xhr.send(formData);
    });
  }

  /* POST /v1/chat/completions with stream: true; calls onCitations(list) once, onDelta(text)
   * for each piece. Resolves with {text, citations, sentences, finish}: sentences (each
   * answer sentence with the passage supporting it) come with the last chunk. */
  async function streamChat({ model, messages, retrieval, signal, onDelta, onCitations }) {
    const body = { model, messages, stream: true };
    if (retrieval) {
      body.retrieval = retrieval;
      body.temperature = 0; // answers from sources: the most likely wording, reproducible
    }
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw await errorOf(response);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let text = "";
    let citations = [];
    let sentences = [];
    let finish = null;
    let id = null; // the completion's id: what its feedback names
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const data = line.slice(6);
          if (data === "[DONE]") return { id, text, citations, sentences, finish };
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          if (chunk.id) id = chunk.id;
          if (chunk.citations) {
            citations = chunk.citations;
            if (onCitations) onCitations(citations);
          }
          if (chunk.sentences) sentences = chunk.sentences;
          const choice = (chunk.choices || [])[0];
          if (!choice) continue;
          if (choice.delta && choice.delta.content) {
            text += choice.delta.content;
            if (onDelta) onDelta(choice.delta.content, text);
          }
          if (choice.finish_reason) finish = choice.finish_reason;
        }
      }
    }
    return { id, text, citations, sentences, finish };
  }

  /* Thumbs up and down under an answer, and for a "down" an optional corrected answer and
   * reason: POST /v1/chat/completions/{id}/feedback. Plain buttons and a form, so that the
   * keyboard and screen readers reach everything; the outcome is announced. */
  function feedbackWidget(completionId, prefix, given = null) {
    const path = `/v1/chat/completions/${encodeURIComponent(completionId)}/feedback`;
    const said = el("p", { class: "feedback-status", role: "status" });
    const up = el("button", { type: "button", class: "button button-small button-secondary feedback-up", "aria-pressed": "false", text: `👍 ${t("js.feedback_up")}` });
    const down = el("button", { type: "button", class: "button button-small button-secondary feedback-down", "aria-pressed": "false", "aria-expanded": "false", "aria-controls": `${prefix}-feedback-form`, text: `👎 ${t("js.feedback_down")}` });
    const correction = el("textarea", { id: `${prefix}-correction`, name: "correction", rows: "3", maxlength: "20000" });
    const reason = el("input", { id: `${prefix}-reason`, name: "reason", type: "text", maxlength: "2000" });
    const form = el(
      "form",
      { id: `${prefix}-feedback-form`, class: "feedback-form", hidden: "" },
      el("label", { for: `${prefix}-correction`, text: t("js.feedback_correction") }),
      correction,
      el("label", { for: `${prefix}-reason`, text: t("js.feedback_reason") }),
      reason,
      el("button", { type: "submit", class: "button button-small", text: t("js.feedback_send") }),
    );
    function show(rating) {
      up.setAttribute("aria-pressed", String(rating === "up"));
      down.setAttribute("aria-pressed", String(rating === "down"));
    }
    if (given) show(given); // a conversation read again shows the rating already given
    async function give(rating, extra) {
      try {
        await api(path, { method: "POST", json: { rating, ...extra } });
        show(rating);
        said.textContent = t("js.feedback_thanks");
      } catch (error) {
        said.textContent = error.message;
      }
    }
    up.addEventListener("click", () => {
      form.hidden = true;
      down.setAttribute("aria-expanded", "false");
      give("up", {});
    });
    down.addEventListener("click", () => {
      form.hidden = false;
      down.setAttribute("aria-expanded", "true");
      give("down", {});
      correction.focus();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const extra = {};
      if (correction.value.trim()) extra.correction = correction.value;
      if (reason.value.trim()) extra.reason = reason.value;
      give("down", extra);
    });
    return el(
      "div",
      { class: "feedback", role: "group", "aria-label": t("js.feedback_label") },
      up,
      down,
      form,
      said,
    );
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  function passageUrl(c) {
    return `/passage?document=${c.document_id}&start=${c.char_start}&end=${c.char_end}`;
  }

  function citationLink(citation) {
    return el("a", {
      class: "citation-marker source-link",
      href: passageUrl(citation),
      "aria-label": t("js.source_n", { n: citation.index, document: citation.document }),
      text: `[${citation.index}]`,
    });
  }

  /* The answer with each sentence followed by the passage that supports it, as Greffier
   * attached it after generation, or by an "unsupported" mark. */
  function renderSentences(container, text, citations, sentences, prefix) {
    container.textContent = "";
    let last = 0;
    for (const s of sentences) {
      const own = text.slice(s.start, s.end).replace(/\s*\[\d+\]/g, "");
      container.append(text.slice(last, s.start), own);
      const citation = citations.find((c) => c.index === s.citation);
      if (citation) container.append(" ", citationLink(citation));
      else if (s.supported === false) {
        container.append(
          el("span", { class: "unsupported", title: t("js.unsupported_title"), text: t("js.unsupported") }),
        );
      }
      last = s.end;
    }
    container.append(text.slice(last));
    container.dataset.sourcePrefix = prefix;
  }

  /* The answer's text, its [n] markers turned into links to source n (when there is one);
   * with the sentences Greffier attached to passages, each sentence's own source. */
  function renderAnswer(container, text, citations, prefix, sentences) {
    if (sentences && sentences.length && citations && citations.length) {
      renderSentences(container, text, citations, sentences, prefix);
      return;
    }
    container.textContent = "";
    const known = new Set((citations || []).map((c) => String(c.index)));
    let last = 0;
    for (const match of text.matchAll(/\[(\d+)\]/g)) {
      if (!known.has(match[1])) continue;
      container.append(text.slice(last, match.index));
      const citation = citations.find((c) => String(c.index) === match[1]);
      container.append(
        el("a", {
          class: "citation-marker source-link",
          href: passageUrl(citation),
          "aria-label": t("js.source_n", { n: match[1], document: citation.document }),
          text: `[${match[1]}]`,
        }),
      );
      last = match.index + match[0].length;
    }
    container.append(text.slice(last));
    container.dataset.sourcePrefix = prefix;
  }

  function renderSources(citations, prefix) {
    const list = el("ol", { class: "source-list" });
    for (const c of citations) {
      let label = c.document;
      if (c.page) label += `, ${t("js.page", { page: c.page })}`;
      if (c.heading) label += ` — ${c.heading}`;
      list.append(
        el(
          "li",
          { id: `${prefix}-source-${c.index}` },
          el(
            "a",
            { class: "source-link", href: passageUrl(c) },
            el("span", { class: "source-number", text: `[${c.index}]` }),
            ` ${label}`,
          ),
          el("blockquote", { class: "excerpt", text: c.excerpt }),
        ),
      );
    }
    return el(
      "section",
      { class: "sources", "aria-label": t("js.sources") },
      el("h3", { class: "sources-title", text: t("js.sources") }),
      list,
    );
  }

  /* A question and its streamed answer, appended to a list of messages. Returns a promise
   * of {text, citations, finish}, or null when stopped. */
  function appendMessage(list, role, text, extra) {
    const content = el("div", { class: "message-content", text });
    const author = el("p", { class: "message-author", text: t(`js.role_${role}`) });
    if (extra && extra.model) author.append(el("span", { class: "message-model", text: ` · ${extra.model}` }));
    const article = el("article", { "aria-label": t(`js.role_${role}`) }, author, content);
    const item = el("li", { class: `message message-${role}` }, article);
    list.append(item);
    return { item, article, content };
  }

  async function ask({ list, status, model, messages, retrieval, signal, prefix }) {
    const answer = appendMessage(list, "assistant", "", { model });
    answer.content.setAttribute("aria-busy", "true");
    answer.content.classList.add("streaming");
    answer.content.textContent = t("js.thinking");
    let started = false;
    status.textContent = t("js.answering");
    try {
      const result = await streamChat({
        model,
        messages,
        retrieval,
        signal,
        onCitations: (citations) => {
          if (citations.length) answer.article.append(renderSources(citations, prefix));
        },
        onDelta: (piece, text) => {
          if (!started) {
            answer.content.textContent = "";
            started = true;
          }
          answer.content.textContent = text;
        },
      });
      renderAnswer(answer.content, result.text, result.citations, prefix, result.sentences);
      if (typeof GreffierVoice !== "undefined" && result.text) {
        answer.content.after(GreffierVoice.listenButton()); // voice.js, where pages load it
      }
      if (result.id && result.finish !== null) answer.article.append(feedbackWidget(result.id, prefix));
      status.textContent = t("js.answered");
      return result;
    } catch (error) {
      if (error.name === "AbortError") {
        status.textContent = t("js.stopped");
        return { text: answer.content.textContent, citations: [], finish: "stopped" };
      }
      answer.content.textContent = "";
      answer.content.append(el("span", { class: "form-error", role: "alert", text: error.message }));
      status.textContent = error.message;
      throw error;
    } finally {
      answer.content.removeAttribute("aria-busy");
      answer.content.classList.remove("streaming");
    }
  }

  /* --- the passage dialog ------------------------------------------------------------- */

  async function openPassage(href, opener) {
    const dialog = document.getElementById("passage-dialog");
    if (!dialog) return false;
    const body = document.getElementById("passage-body");
    body.textContent = t("js.loading");
    dialog.showModal();
    dialog.addEventListener("close", () => opener && opener.focus(), { once: true });
    try {
      const html = await api(`${href}&fragment=1`);
      body.innerHTML = html; /* our own server-rendered, auto-escaped fragment */
      const mark = body.querySelector("mark");
      if (mark) mark.scrollIntoView({ block: "center" });
      const audio = body.querySelector("audio[data-start]");
      if (audio) {
        audio.addEventListener(
          "loadedmetadata",
          () => {
            audio.currentTime = Number(audio.dataset.start);
            audio.play().catch(() => {});
          },
          { once: true },
        );
        dialog.addEventListener("close", () => audio.pause(), { once: true });
      }
      const title = body.querySelector("h2");
      if (title) {
        title.setAttribute("tabindex", "-1");
        title.focus();
      }
    } catch (error) {
      body.textContent = error.message;
    }
    return true;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.source-link");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    if (!document.getElementById("passage-dialog")) return;
    event.preventDefault();
    openPassage(link.getAttribute("href"), link);
  });

  /* Forms that ask before doing something that cannot be undone. */
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  /* Enhance server-rendered answers: their [n] markers become links. */
  function enhanceAnswers(root) {
    for (const content of root.querySelectorAll(".message-assistant .message-content")) {
      const prefix = content.dataset.sourcePrefix;
      const links = content.parentElement.querySelectorAll(".source-list a.source-link");
      const citations = [...links].map((a) => {
        const url = new URL(a.href);
        return {
          index: Number(a.parentElement.id.split("-source-")[1]),
          document_id: url.searchParams.get("document"),
          char_start: url.searchParams.get("start"),
          char_end: url.searchParams.get("end"),
          document: a.textContent.replace(/^\s*\[\d+\]\s*/, "").trim(),
        };
      });
      const sentences = content.dataset.sentences ? JSON.parse(content.dataset.sentences) : [];
      if (citations.length) renderAnswer(content, content.textContent, citations, prefix, sentences);
      const article = content.closest("article");
      if (article.dataset.answerId && !article.querySelector(".feedback")) {
        article.append(feedbackWidget(article.dataset.answerId, prefix, article.dataset.rating));
      }
    }
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  }

  function formatDate(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return date.toLocaleString(document.documentElement.lang, {
      dateStyle: "medium",
      timeStyle: "short",
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    enhanceAnswers(document);
    const error = document.querySelector('[role="alert"][tabindex="-1"]');
    if (error) error.focus();
  });

  return {
    t,
    api,
    errorOf,
    upload,
    streamChat,
    feedbackWidget,
    ask,
    el,
    appendMessage,
    renderAnswer,
    renderSources,
    openPassage,
    clock,
    formatDate,
    csrf,
  };
})();
