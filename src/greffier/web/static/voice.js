/* Voice: ask aloud (the chat's microphone button) and hear answers and minutes read out
 * (the "listen" buttons).
 *
 * - Asking: MediaRecorder records the microphone until the button is pressed again; the
 *   recording goes to /v1/audio/transcriptions and its text becomes the question.
 * - Hearing: /v1/audio/speech sends MP3 sentence by sentence; it plays as it arrives
 *   (Media Source Extensions) where the browser takes MP3 that way, else once complete.
 * - Nothing plays unless a person pressed a button: "listen", or the microphone, whose
 *   question's answer is then read. Each reading has visible player controls; every
 *   change is announced in the page's #voice-status live region.
 */
"use strict";

const GreffierVoice = (() => {
  const { t, el, csrf } = Greffier;
  let current = null; // the reading under way: {button, audio, controller}

  function announce(text) {
    const status = document.getElementById("voice-status");
    if (status) status.textContent = text;
  }

  /* --- hearing ----------------------------------------------------------------------- */

  async function speech(body, signal) {
    const response = await fetch("/v1/audio/speech", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ model: "tts-1", response_format: "mp3", ...body }),
      signal,
    });
    if (!response.ok) throw await Greffier.errorOf(response);
    return response;
  }

  function append(buffer, chunk) {
    return new Promise((resolve, reject) => {
      buffer.addEventListener("updateend", resolve, { once: true });
      buffer.addEventListener("error", () => reject(new Error("audio buffer")), { once: true });
      buffer.appendBuffer(chunk);
    });
  }

  /* Play the response's MP3 while it arrives; resolve once it is all in the player. */
  async function play(audio, response) {
    if (!(window.MediaSource && MediaSource.isTypeSupported("audio/mpeg"))) {
      audio.src = URL.createObjectURL(await response.blob());
      await audio.play();
      return;
    }
    const source = new MediaSource();
    audio.src = URL.createObjectURL(source);
    await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }));
    const buffer = source.addSourceBuffer("audio/mpeg");
    const reader = response.body.getReader();
    let started = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await append(buffer, value);
      if (!started) started = audio.play();
    }
    if (source.readyState === "open") source.endOfStream();
    if (started) await started;
  }

  /* A listen button says "Stop reading" while it reads, in its text and its name. */
  function showReading(button, reading) {
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
      button.dataset.name = button.getAttribute("aria-label") || "";
    }
    const text = reading ? t("js.listen_stop") : button.dataset.label;
    button.textContent = text;
    if (button.dataset.name) button.setAttribute("aria-label", reading ? text : button.dataset.name);
  }

  function stop() {
    if (!current) return;
    const { button, audio, controller } = current;
    current = null;
    controller.abort();
    audio.pause();
    showReading(button, false);
  }

  function playerFor(button) {
    let audio = button.nextElementSibling;
    if (!(audio && audio.classList.contains("voice-player"))) {
      audio = el("audio", { class: "voice-player", controls: true, "aria-label": t("js.voice_player") });
      button.after(audio);
    }
    return audio;
  }

  /* What a listen button reads: its meeting's minutes, or the text of its answer. */
  function bodyFor(button) {
    if (button.dataset.meeting) return { meeting: Number(button.dataset.meeting) };
    const content = button.closest("article").querySelector(".message-content");
    return { input: content.textContent };
  }

  async function listen(button) {
    const again = current && current.button === button;
    stop();
    if (again) {
      announce(t("js.voice_ended"));
      return;
    }
    const audio = playerFor(button);
    const controller = new AbortController();
    const reading = { button, audio, controller };
    current = reading;
    showReading(button, true);
    announce(t("js.voice_preparing"));
    audio.addEventListener("playing", () => announce(t("js.voice_playing")), { once: true });
    audio.onended = () => {
      if (current !== reading) return;
      current = null;
      showReading(button, false);
      announce(t("js.voice_ended"));
    };
    try {
      await play(audio, await speech(bodyFor(button), controller.signal));
    } catch (error) {
      if (error.name === "AbortError" || current !== reading) return;
      stop();
      announce(error.message);
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.listen");
    if (button) listen(button);
  });

  /* A listen button for an answer the scripts add to the page. */
  function listenButton() {
    return el("button", {
      type: "button",
      class: "button button-secondary button-small listen",
      "aria-label": t("js.listen_answer"),
      text: t("js.listen"),
    });
  }

  /* --- asking ------------------------------------------------------------------------ */

  /* The microphone button: press to record, press again to send; onQuestion(text). */
  function microphone(button, onQuestion) {
    if (!button) return;
    if (!(navigator.mediaDevices && window.MediaRecorder)) {
      button.hidden = true;
      return;
    }
    let recorder = null;

    function idle() {
      button.textContent = t("js.mic_start");
      button.classList.remove("recording");
    }

    async function transcribe(blob) {
      announce(t("js.mic_transcribing"));
      const form = new FormData();
      form.append("file", blob, "question.webm");
      form.append("model", "whisper-1");
      try {
        const result = await Greffier.api("/v1/audio/transcriptions", { method: "POST", body: form });
        const text = (result.text || "").trim();
        if (!text) {
          announce(t("js.mic_nothing"));
          return;
        }
        announce(t("js.mic_heard", { text }));
        onQuestion(text);
      } catch (error) {
        announce(error.message);
      }
    }

    button.addEventListener("click", async () => {
      if (recorder && recorder.state === "recording") {
        recorder.stop();
        return;
      }
      stop(); // a reading under way would be recorded too
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (error) {
        announce(t("js.mic_unavailable", { error: error.message }));
        return;
      }
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.addEventListener("dataavailable", (event) => {
        if (event.data.size) chunks.push(event.data);
      });
      recorder.addEventListener("stop", () => {
        for (const track of stream.getTracks()) track.stop();
        idle();
        transcribe(new Blob(chunks, { type: recorder.mimeType || "audio/webm" }));
      });
      recorder.start();
      button.textContent = t("js.mic_stop");
      button.classList.add("recording");
      announce(t("js.mic_recording"));
    });
  }

  return { listen, listenButton, microphone, stop };
})();
