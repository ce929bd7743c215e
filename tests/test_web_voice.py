"""The voice loop in the browser: a question asked aloud into the chat's microphone, the
grounded answer streamed with its sources, then read aloud; its audio is French.

Debian's Chromium, driven by Playwright like tests/test_web.py (whose helpers this uses),
with its fake microphone playing a WAV file. The question in that file is spoken by
Greffier's own voice (through /v1/audio/speech), not by espeak-ng: Whisper base does not
understand espeak-ng's French ("Combien de jours de congé pour un mariage ?" came back as
"Come here to come here to admire your eyes.", language en, in the voices fr, fr+steph and
fr+klatt at 120 words a minute), and a question nobody can make out would only test the
"nothing found" answer. This browser is started without Chromium's autoplay override:
the answer may play only because the person pressed the microphone button.
"""

from __future__ import annotations

import io
import re
import time
import wave

import av
import httpx
import numpy as np
import pytest

from test_speech_api import spoken_words
from test_web import WAIT_MS, Visit, axe_check, launched_chromium

QUESTION = "Combien de jours de congé pour un mariage ?"
DOCUMENT = (
    "# Congés exceptionnels\n\n"
    "Un agent qui se marie ou conclut un pacte civil de solidarité bénéficie de cinq jours "
    "ouvrables de congé exceptionnel, sur justificatif.\n\n"
    "La naissance ou l'adoption d'un enfant ouvre droit à trois jours de congé.\n"
)
LOOP_SECONDS = 8.5  # the fake microphone loops the file: this holds one whole question


@pytest.fixture(scope="module")
def question_wav(server, tmp_path_factory):
    """The question in Greffier's French voice, then silence, as 16-bit PCM WAV."""
    spoken = httpx.post(
        f"{server.url}/v1/audio/speech",
        json={"input": QUESTION, "response_format": "wav"},
        headers={"Authorization": f"Bearer {server.key}"},
        timeout=300,
    )
    assert spoken.status_code == 200, spoken.text
    with av.open(io.BytesIO(spoken.content)) as container:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    samples = np.concatenate([samples, np.zeros(int(2.5 * 24000), samples.dtype)])
    path = tmp_path_factory.mktemp("web-voice") / "question.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24000)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def browser(question_wav):
    with launched_chromium(question_wav) as launched:
        yield launched


@pytest.fixture(scope="module")
def collection(server) -> dict:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.key}"}, timeout=120
    ) as http:
        created = http.post("/v1/collections", json={"name": "Congés (voix)"}).json()
        job = http.post(
            f"/v1/collections/{created['id']}/documents",
            files=[("files", ("conges.md", DOCUMENT.encode()))],
        ).json()
        deadline = time.monotonic() + 300
        while (state := http.get(f"/v1/jobs/{job['job_id']}").json())["status"] not in (
            "done",
            "failed",
        ):
            assert time.monotonic() < deadline, state
            time.sleep(0.3)
        assert state["status"] == "done", state
    return created


def test_ask_aloud_hear_the_grounded_answer_in_french(browser, server, collection):
    visit = Visit(browser, server)
    try:
        page = visit.sign_in_with_key(server.key)
        page.goto("/chat")
        page.click("#sources-picker summary")
        page.check("label:has-text('Congés (voix)')")
        page.click("#sources-picker summary")
        mic = page.locator("#mic")
        assert mic.get_attribute("aria-describedby") == "mic-hint"
        voice_status = page.locator("#voice-status")
        assert voice_status.get_attribute("aria-live") == "polite"
        axe_check(page, "chat with the microphone")
        page.evaluate(
            """() => {
                window.__announced = [];
                const status = document.getElementById('voice-status');
                new MutationObserver(() => window.__announced.push(status.textContent))
                    .observe(status, {childList: true, characterData: true, subtree: true});
            }"""
        )

        with page.expect_response(
            lambda r: r.url.endswith("/v1/audio/speech"), timeout=WAIT_MS
        ) as spoken:
            mic.focus()
            page.keyboard.press("Enter")  # keyboard, like anyone without a mouse
            voice_status.filter(has_text="Enregistrement en cours").wait_for()
            assert mic.inner_text() == "Arrêter et envoyer"
            page.wait_for_timeout(LOOP_SECONDS * 1000)  # let the person speak
            page.keyboard.press("Enter")
            page.locator("#chat-status").filter(has_text="Réponse terminée.").wait_for(
                timeout=WAIT_MS
            )
        asked = page.locator(".message-user .message-content").last.inner_text()
        assert re.search(r"mariage|congé", asked, re.I), asked

        # The answer is shown, with its sources, while it is read aloud.
        answer = page.locator(".message-assistant").last
        assert answer.locator(".source-list li").first.inner_text().find("conges.md") >= 0
        player = answer.locator("audio.voice-player")
        player.wait_for()
        page.wait_for_function(
            """() => { const a = document.querySelector('.message-assistant:last-child audio');
                       return a && !a.paused && a.currentTime > 0; }""",
            timeout=WAIT_MS,
        )
        voice_status.filter(has_text="Lecture à voix haute en cours.").wait_for()
        listen = answer.locator("button.listen")
        assert listen.inner_text() == listen.get_attribute("aria-label") == "Arrêter la lecture"
        axe_check(page, "chat reading an answer aloud")
        # Each step was announced to screen readers, in order.
        announced = page.evaluate("window.__announced")
        steps = [
            "Enregistrement en cours",
            "Transcription de votre question",
            "Question entendue",
            "Préparation de la voix",
            "Lecture à voix haute en cours",
        ]
        positions = [next(i for i, a in enumerate(announced) if a.startswith(s)) for s in steps]
        assert positions == sorted(positions), announced

        # What was played is French: the bundled Whisper says so through the API.
        response = spoken.value
        assert response.status == 200 and response.headers["content-type"] == "audio/mpeg"
        audio = response.body()
        heard = httpx.post(
            f"{server.url}/v1/audio/transcriptions",
            files={"file": ("answer.mp3", audio)},
            data={"model": "whisper-1", "response_format": "verbose_json"},
            headers={"Authorization": f"Bearer {server.key}"},
            timeout=300,
        ).json()
        assert heard["language"] == "french", heard
        # ... and it is the answer shown: most words heard are words of the answer.
        shown = set(spoken_words(answer.locator(".message-content").inner_text()))
        said = spoken_words(heard["text"])
        assert said and sum(w in shown for w in said) / len(said) >= 0.6, (shown, said)

        # The listen button works from the keyboard: Enter stops the reading.
        listen.focus()
        page.keyboard.press("Enter")
        voice_status.filter(has_text="Lecture terminée.").wait_for()
        assert listen.inner_text() == "Écouter"
        assert listen.get_attribute("aria-label") == "Écouter la réponse"
        assert page.evaluate(
            "() => document.querySelector('.message-assistant:last-child audio').paused"
        )
    finally:
        visit.close()
