/* The chat page: send a question (typed, or asked aloud through voice.js, whose answer is
 * then read aloud), stream the answer from /v1/chat/completions (grounded in the chosen
 * collections and meetings), keep the exchange in the conversation's history. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { t, api, ask, appendMessage, el } = Greffier;
  const data = JSON.parse(document.getElementById("chat-data").textContent);
  const form = document.getElementById("chat-form");
  const question = document.getElementById("question");
  const list = document.getElementById("messages");
  const status = document.getElementById("chat-status");
  const send = document.getElementById("send");
  const stop = document.getElementById("stop");
  const picker = document.getElementById("sources-picker");
  const summary = document.getElementById("sources-summary");
  const HISTORY = 6; // earlier messages sent with a question (the context window is small)
  let conversation = data.conversation;
  const history = data.history;
  let controller = null;
  let spoken = false; // the question was asked aloud: its answer is read aloud too

  GreffierVoice.microphone(document.getElementById("mic"), (text) => {
    if (controller) return;
    question.value = text;
    spoken = true;
    form.requestSubmit();
  });

  function chosen() {
    const ids = (name) =>
      [...picker.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => Number(i.value));
    return { collections: ids("collections"), meetings: ids("meetings") };
  }

  function updateSummary() {
    const { collections, meetings } = chosen();
    const n = collections.length + meetings.length;
    summary.textContent = n ? t("js.n_sources", { n }) : t("js.no_source");
  }
  picker.addEventListener("change", updateSummary);
  updateSummary();

  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  stop.addEventListener("click", () => controller && controller.abort());

  /* The citations kept with the answer: each with the spans of the sentences it supports,
   * the first also with every sentence's attachment, so a reloaded answer shows the same. */
  function kept(result) {
    const sentences = result.sentences || [];
    return (result.citations || []).map((c, i) => ({
      ...c,
      spans: sentences.filter((s) => s.citation === c.index).map((s) => ({ start: s.start, end: s.end })),
      ...(i === 0 && sentences.length ? { sentences } : {}),
    }));
  }

  function busy(on) {
    send.disabled = on;
    stop.hidden = !on;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  function addToSidebar(id, title) {
    const sidebar = document.getElementById("conversation-list");
    for (const current of sidebar.querySelectorAll("[aria-current]")) current.removeAttribute("aria-current");
    sidebar.prepend(el("li", {}, el("a", { href: `/chat/${id}`, "aria-current": "page", text: title })));
    const none = document.getElementById("no-conversation");
    if (none) none.remove();
    document.getElementById("chat-title").textContent = title;
    document.title = `${title} — Greffier`;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text || controller) return;
    const model = document.getElementById("model").value;
    const sources = chosen();
    const empty = document.getElementById("empty-chat");
    if (empty) empty.remove();
    busy(true);
    controller = new AbortController();
    appendMessage(list, "user", text);
    question.value = "";
    try {
      if (conversation === null) {
        const created = await api("/ui/conversations", { method: "POST", json: { question: text, model, sources } });
        conversation = created.id;
        history.length = 0;
        window.history.replaceState(null, "", `/chat/${conversation}`);
        addToSidebar(created.id, created.title);
      }
      await api(`/ui/conversations/${conversation}/messages`, {
        method: "POST",
        json: { role: "user", content: text, model, sources },
      });
      const grounded = sources.collections.length + sources.meetings.length > 0;
      const messages = [...history.slice(-HISTORY), { role: "user", content: text }];
      const result = await ask({
        list,
        status,
        model,
        messages,
        retrieval: grounded ? { collections: sources.collections, meetings: sources.meetings } : null,
        signal: controller.signal,
        prefix: `new${list.children.length}`,
      });
      history.push({ role: "user", content: text });
      if (result && result.text && spoken && result.finish !== "stopped") {
        const listen = list.lastElementChild.querySelector("button.listen");
        if (listen) GreffierVoice.listen(listen); // the person pressed the microphone for it
      }
      if (result && result.text) {
        history.push({ role: "assistant", content: result.text });
        await api(`/ui/conversations/${conversation}/messages`, {
          method: "POST",
          json: { role: "assistant", content: result.text, citations: kept(result), model, answer_id: result.id },
        });
      }
    } catch (error) {
      status.textContent = error.message;
      if (!list.querySelector(".message-assistant:last-child [role=alert]")) {
        const last = appendMessage(list, "assistant", "");
        last.content.append(el("span", { class: "form-error", role: "alert", text: error.message }));
      }
    } finally {
      controller = null;
      spoken = false;
      busy(false);
      question.focus();
    }
  });
});
