/* The meetings page: upload a recording (or record one with MediaRecorder), follow its
 * transcription until done, list the meetings. Everything through /v1/meetings. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { t, api, upload, el, clock, formatDate } = Greffier;
  const form = document.getElementById("meeting-form");
  const fileInput = document.getElementById("meeting-file");
  const progress = document.getElementById("meeting-progress");
  const error = document.getElementById("meeting-error");
  const rowsBody = document.getElementById("meeting-rows");
  const POLL_MS = 1500;
  let recorded = null; // {blob, name} once something was recorded

  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function row(m) {
    return el("tr", { id: `meeting-${m.id}`, class: `meeting-${m.status}` },
      el("th", { scope: "row" }, el("a", { href: `/meetings/${m.id}`, text: m.title })),
      el("td", { text: formatDate(m.created_at) }),
      el("td", { text: m.duration ? clock(m.duration) : "" }),
      el("td", {}, el("span", {
        class: `status status-${m.status}`,
        text: m.status === "failed" && m.error ? `${t("js.meeting_failed")} : ${m.error.message}` : t(`js.meeting_${m.status}`),
      })));
  }

  async function load() {
    const { data } = await api("/v1/meetings");
    rowsBody.textContent = "";
    document.getElementById("no-meeting").hidden = data.length > 0;
    for (const m of data) rowsBody.append(row(m));
    for (const m of data) if (m.status === "pending") follow(m.id);
  }

  const followed = new Set();
  async function follow(id) {
    if (followed.has(id)) return;
    followed.add(id);
    for (;;) {
      await wait(POLL_MS);
      let m;
      try {
        m = await api(`/v1/meetings/${id}`);
      } catch (failure) {
        followed.delete(id);
        return;
      }
      const old = document.getElementById(`meeting-${id}`);
      if (old) old.replaceWith(row(m));
      if (m.status !== "pending") {
        followed.delete(id);
        return;
      }
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    const file = fileInput.files[0];
    if (!data.get("title").trim()) {
      error.textContent = t("js.meeting_needs_title");
      error.hidden = false;
      document.getElementById("meeting-title").focus();
      return;
    }
    if (!file && !recorded) {
      error.textContent = t("js.meeting_needs_audio");
      error.hidden = false;
      fileInput.focus();
      return;
    }
    data.delete("file");
    if (file) data.append("file", file, file.name);
    else data.append("file", recorded.blob, recorded.name);
    for (const name of ["language", "speakers"]) if (!data.get(name)) data.delete(name);
    progress.hidden = false;
    progress.value = 0;
    try {
      const created = await upload("/v1/meetings", data, (p) => { progress.value = Math.round(p * 100); });
      form.reset();
      recorded = null;
      document.getElementById("record-preview").hidden = true;
      await load();
      document.getElementById("record-status").textContent = t("js.meeting_uploaded");
      follow(created.id);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      progress.hidden = true;
    }
  });

  /* --- recording in the browser ---------------------------------------------------------- */

  const start = document.getElementById("record-start");
  const stop = document.getElementById("record-stop");
  const time = document.getElementById("record-time");
  const recordStatus = document.getElementById("record-status");
  const preview = document.getElementById("record-preview");
  let recorder = null;
  let timer = null;

  if (!window.MediaRecorder || !navigator.mediaDevices) {
    start.disabled = true;
    recordStatus.textContent = t("js.record_unsupported");
  }

  start.addEventListener("click", async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (failure) {
      recordStatus.textContent = t("js.record_denied");
      return;
    }
    const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"].find(
      (m) => MediaRecorder.isTypeSupported(m),
    );
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const parts = [];
    recorder.addEventListener("dataavailable", (e) => e.data.size && parts.push(e.data));
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((track) => track.stop());
      const blob = new Blob(parts, { type: recorder.mimeType });
      const extension = recorder.mimeType.includes("ogg") ? "ogg" : "webm";
      recorded = { blob, name: `enregistrement.${extension}` };
      preview.src = URL.createObjectURL(blob);
      preview.hidden = false;
      fileInput.value = "";
      recordStatus.textContent = t("js.record_ready");
    });
    const began = Date.now();
    recorder.start(1000);
    timer = setInterval(() => { time.textContent = clock((Date.now() - began) / 1000).slice(3); }, 500);
    start.disabled = true;
    stop.disabled = false;
    stop.focus();
    recordStatus.textContent = t("js.recording");
  });

  stop.addEventListener("click", () => {
    if (recorder && recorder.state !== "inactive") recorder.stop();
    clearInterval(timer);
    start.disabled = false;
    stop.disabled = true;
    start.focus();
  });

  load().catch((failure) => {
    error.textContent = failure.message;
    error.hidden = false;
  });
});
