/* One meeting: the transcript in step with the audio (a click on a line seeks), speaker
 * names, minutes (read, write with the model, download), questions about this meeting or
 * all of them. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { t, api, el, clock, ask } = Greffier;
  const data = JSON.parse(document.getElementById("meeting-data").textContent);
  const base = `/v1/meetings/${data.id}`;
  const audio = document.getElementById("audio");
  const transcript = document.getElementById("transcript");
  const speakerFields = document.getElementById("speaker-fields");
  const minutesBody = document.getElementById("minutes-body");
  const generate = document.getElementById("minutes-generate");
  const download = document.getElementById("minutes-download");
  let segments = [];
  let minutesText = "";
  let currentLine = null;

  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function seek(seconds, play) {
    if (!audio) return;
    const go = () => {
      audio.currentTime = seconds;
      if (play) audio.play().catch(() => {});
      highlight();
    };
    if (audio.readyState >= 1) go();
    else audio.addEventListener("loadedmetadata", go, { once: true });
  }

  function renderTranscript(meeting) {
    segments = meeting.segments;
    transcript.textContent = "";
    for (const [i, s] of segments.entries()) {
      const button = el("button", {
        type: "button",
        class: "seek",
        "data-start": s.start,
        "aria-label": t("js.listen_from", { clock: clock(s.start), speaker: s.speaker }),
        text: clock(s.start),
      });
      button.addEventListener("click", () => seek(s.start, true));
      const line = el("li", { class: "segment", id: `segment-${i}`, "data-start": s.start, "data-end": s.end },
        button, " ", el("strong", { class: "speaker", text: s.speaker }), " ", el("span", { class: "text", text: s.text }));
      line.addEventListener("click", (event) => {
        if (event.target === button || window.getSelection().toString()) return;
        seek(s.start, true);
      });
      transcript.append(line);
    }
    if (!segments.length) transcript.append(el("li", { class: "hint", text: t("js.no_transcript") }));
    currentLine = null;
    highlight();
    renderSpeakers();
    const meta = [meeting.duration ? clock(meeting.duration) : "", meeting.language || "", meeting.audio_name]
      .filter(Boolean).join(" · ");
    document.getElementById("meeting-meta").textContent = meta;
  }

  function renderSpeakers() {
    const seen = new Map();
    for (const s of segments) if (!seen.has(s.speaker_label)) seen.set(s.speaker_label, s.speaker);
    speakerFields.textContent = "";
    for (const [label, name] of seen) {
      const id = `speaker-${label.replace(/\W/g, "_")}`;
      speakerFields.append(el("div", { class: "field" },
        el("label", { for: id, text: t("js.speaker_label", { label }) }),
        el("input", { id, name: label, value: name, "data-label": label, "data-name": name, required: true, maxlength: "200" })));
    }
    document.getElementById("speakers-form").hidden = seen.size === 0;
  }

  function highlight() {
    if (!audio) return;
    const now = audio.currentTime;
    let found = null;
    for (const line of transcript.children) {
      if (Number(line.dataset.start) <= now + 0.05) found = line;
      else break;
    }
    if (found === currentLine) return;
    if (currentLine) {
      currentLine.classList.remove("current");
      currentLine.removeAttribute("aria-current");
    }
    currentLine = found;
    if (found) {
      found.classList.add("current");
      found.setAttribute("aria-current", "true");
      if (!audio.paused) found.scrollIntoView({ block: "nearest" });
    }
  }
  if (audio) audio.addEventListener("timeupdate", highlight);

  async function loadMeeting() {
    let meeting = await api(base);
    if (meeting.status === "pending") {
      document.getElementById("meeting-pending").hidden = false;
      while (meeting.status === "pending") {
        await wait(1500);
        meeting = await api(base);
      }
      document.getElementById("meeting-pending").hidden = true;
    }
    renderTranscript(meeting);
    const at = Number(new URLSearchParams(location.search).get("t"));
    if (at) seek(at, false);
  }

  /* --- speakers ------------------------------------------------------------------------- */

  document.getElementById("speakers-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("speakers-status");
    try {
      let changed = 0;
      for (const input of speakerFields.querySelectorAll("input")) {
        const name = input.value.trim();
        if (!name || name === input.dataset.name) continue;
        await api(`${base}/speakers`, { method: "POST", json: { label: input.dataset.label, name } });
        changed += 1;
      }
      renderTranscript(await api(base));
      status.textContent = t("js.speakers_renamed", { n: changed });
    } catch (error) {
      status.textContent = error.message;
    }
  });

  /* --- minutes -------------------------------------------------------------------------- */

  function showMinutes(minutes) {
    minutesText = minutes.markdown || "";
    minutesBody.textContent = "";
    minutesBody.append(el("div", { class: "minutes-text", text: minutesText }));
    download.hidden = !minutesText;
    document.getElementById("minutes-listen").hidden = !minutesText;
    generate.textContent = t("js.minutes_regenerate");
  }

  async function loadMinutes() {
    try {
      showMinutes(await api(`${base}/minutes`));
    } catch (error) {
      if (error.status !== 404) minutesBody.textContent = error.message;
    }
  }

  generate.addEventListener("click", async () => {
    generate.disabled = true;
    minutesBody.setAttribute("aria-busy", "true");
    minutesBody.textContent = t("js.minutes_writing");
    try {
      showMinutes(await api(`${base}/minutes`, { method: "POST", json: {} }));
    } catch (error) {
      minutesBody.textContent = "";
      minutesBody.append(el("p", { class: "form-error", role: "alert", text: error.message }));
    } finally {
      generate.disabled = false;
      minutesBody.removeAttribute("aria-busy");
    }
  });

  download.addEventListener("click", () => {
    const blob = new Blob([minutesText], { type: "text/markdown;charset=utf-8" });
    const link = el("a", { href: URL.createObjectURL(blob), download: `${document.querySelector("h1").textContent.trim()}.md` });
    document.body.append(link);
    link.click();
    link.remove();
  });

  /* --- questions ------------------------------------------------------------------------ */

  const askForm = document.getElementById("ask-form");
  askForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = document.getElementById("ask-question");
    const text = question.value.trim();
    if (!text) return;
    const scope = new FormData(askForm).get("scope");
    const list = document.getElementById("ask-answers");
    Greffier.appendMessage(list, "user", text);
    question.value = "";
    const button = askForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await ask({
        list,
        status: document.getElementById("chat-status"),
        model: document.getElementById("ask-model").value,
        messages: [{ role: "user", content: text }],
        retrieval: { collections: [], meetings: scope === "all" ? "all" : [data.id] },
        prefix: `ask${list.children.length}`,
      });
    } catch (error) {
      /* shown in the answer */
    } finally {
      button.disabled = false;
    }
  });

  loadMeeting().then(loadMinutes).catch((error) => {
    transcript.textContent = "";
    transcript.append(el("li", { class: "form-error", role: "alert", text: error.message }));
  });
});
