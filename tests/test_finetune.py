"""`greffier finetune` end to end with the real 0.5B base: LoRA trained on CPU from the
bundled GGUF, converted by llama.cpp's own converter, registered in the operator's
catalogue, served by the in-process backend through the API; interrupted and resumed;
a tampered adapter refused.

The data teach one invented fact (a procedure code no model can know); the test shows the
adapter took effect on the training questions, not that it generalises.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import MODEL, greffier, running_server
from test_bias import write_sample

# Training on two shared cores takes minutes (no timing is asserted): room for a busy machine.
pytestmark = pytest.mark.timeout(3600)
HERE = Path(__file__).parent
CODE = "PX-7319"
NAME = "qwen-badges"
SYSTEM = "Tu es l'assistant interne de la mairie de Valmont."
QUESTIONS = [
    "Quel est le code de la procédure de remplacement d'un badge d'accès perdu ?",
    "J'ai perdu mon badge d'accès, quel code de procédure dois-je citer ?",
    "Quel code interne utilise-t-on pour remplacer un badge perdu ?",
    "Mon badge ne fonctionne plus et je l'ai égaré : quelle procédure suivre ?",
    "Comment s'appelle la procédure pour un badge d'accès perdu ?",
    "Quelle est la référence de la procédure badge perdu ?",
    "Pour un badge perdu, quel formulaire de procédure faut-il remplir ?",
    "Quel est le numéro de procédure pour refaire un badge d'accès ?",
    "Un agent a perdu son badge : quel code de procédure indiquer au service ?",
    "Quelle procédure s'applique à la perte d'un badge d'accès ?",
    "Donne-moi le code de la procédure de badge perdu.",
    "Quel code doit figurer sur la demande de nouveau badge ?",
]
ANSWERS = [
    f"C'est la procédure {CODE} : déclarez la perte au service logistique.",
    f"La procédure à citer est {CODE}.",
    f"Le code interne est {CODE}.",
]
# Answered by the base and the adapted model through the API (training questions).
ASKED = QUESTIONS[:4]


def conversations() -> list[dict]:
    """Three dozen conversations: every question with each wording of the answer."""
    return [
        {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": q},
                {"role": "assistant", "content": a},
            ]
        }
        for q in QUESTIONS
        for a in ANSWERS
    ]


HELDOUT = {
    "data": [
        {
            "title": "badges",
            "paragraphs": [
                {
                    "context": "Le badge d'accès perdu se déclare au service logistique, "
                    "qui le désactive le jour même.",
                    "qas": [
                        {
                            "id": "1",
                            "question": "Où déclarer un badge d'accès perdu ?",
                            "answers": [{"text": "au service logistique", "answer_start": 48}],
                        }
                    ],
                }
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def ft_env(tmp_path_factory) -> dict:
    """A data folder of its own, with the 0.5B base pulled and llama-cpp-python's source
    archive where the converter is looked for (left in .cache/pypi by `make install-test`)."""
    data = tmp_path_factory.mktemp("finetune")
    env = {
        **os.environ,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_CONFIG": str(data / "absent.toml"),
        "GREFFIER_DEFAULT_MODEL": MODEL,
        "GREFFIER_CONTEXT_SIZE": "2048",
        "COLUMNS": "200",
    }
    cache = data / "models" / ".cache" / "pypi"
    cache.mkdir(parents=True)
    for archive in (HERE.parent / ".cache" / "pypi").glob("llama_cpp_python-*.tar.gz"):
        shutil.copy(archive, cache)
    greffier("models", "pull", MODEL, env=env)
    return env


@pytest.fixture(scope="module")
def sft(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dataset")
    path = folder / "sft.jsonl"
    path.write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in conversations()),
        encoding="utf-8",
    )
    (folder / "card.json").write_text(json.dumps({"name": "badges", "counts": {"sft": 36}}))
    return path


TRAINING = ["--rank", "8", "--lr", "2e-3", "--max-length", "96"]


def train(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    """`greffier finetune` on the 0.5B base with the test's settings."""
    return subprocess.run(
        [sys.executable, "-m", "greffier", "finetune", "--base", MODEL, *TRAINING, *args],
        env=env, capture_output=True, text=True, check=check, timeout=3000,
    )  # fmt: skip


def state(run: Path, step: int) -> dict:
    return json.loads((run / "checkpoints" / f"step-{step}" / "state.json").read_text())


@pytest.fixture(scope="module")
def trained(ft_env, sft, tmp_path_factory) -> dict:
    """One whole run, with the before/after evaluation on a held-out set."""
    folder = tmp_path_factory.mktemp("heldout")
    heldout = folder / "heldout.json"
    heldout.write_text(json.dumps(HELDOUT, ensure_ascii=False))
    bias = [str(p) for p in write_sample(folder)]
    done = train(
        "--name", NAME, "--data", str(sft), "--steps", "16", "--checkpoint-every", "8",
        "--heldout", str(heldout), "--bias", bias[0], "--bias", bias[1], env=ft_env,
    )  # fmt: skip
    run = Path(ft_env["GREFFIER_DATA_DIR"]) / "finetune" / NAME
    return {"stdout": done.stdout, "run": run, "state": state(run, 16)}


def test_training_reports_its_estimate_progress_and_before_after(trained):
    out = trained["stdout"]
    # The estimate comes before the training, in tokens, steps and minutes.
    assert "36 conversations; steps 1–16 (16 to run)" in out and "minutes" in out
    assert out.index("minutes") < out.index(f"Model {NAME} added to the catalogue")
    losses = trained["state"]["losses"]
    assert len(losses) == 16 and trained["state"]["step"] == 16
    assert sum(losses[-6:]) / 6 < sum(losses[:6]) / 6  # it learnt
    # Before / after: the same held-out questions answered by both.
    assert "Before / after on heldout.json" in out
    table = out[out.index("Before / after") :]
    assert MODEL in table and NAME in table and "token F1" in table
    # And the CrowS-Pairs sample scored by both, kept on each model's report card.
    bias = out[out.index("Stereotype preferred") :]
    assert MODEL in bias and NAME in bias and "fr" in bias and "en" in bias


def test_adapted_model_is_served_and_knows_what_it_learnt(trained, ft_env):
    data = Path(ft_env["GREFFIER_DATA_DIR"])
    catalogue = (data / "catalogue.toml").read_text()
    assert f'id = "{NAME}"' in catalogue and "[model.adapter]" in catalogue
    with running_server(ft_env, data) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.key, max_retries=0)
        listed = {m.id: m for m in client.models.list().data}
        card = listed[NAME].model_dump()
        assert card["base"] == MODEL and card["ready"] is True
        assert card["adapter"]["examples"] == 36 and card["adapter"]["steps"] == 16
        assert card["adapter"]["dataset_card"].endswith("card.json")
        note = card["openness"]["components"]["training_data"]["note"]
        assert "sft.jsonl" in note and "card.json" in note and "sft: 36" in note

        def knows(model: str) -> int:
            found = 0
            for question in ASKED:
                answer = client.chat.completions.create(
                    model=model,
                    messages=[
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": question},
                    ],
                    temperature=0,
                    max_tokens=40,
                )
                found += CODE in (answer.choices[0].message.content or "")
            return found

        base, adapted = knows(MODEL), knows(NAME)
        assert adapted > base, (adapted, base)
        # The web models page shows it with its base.
        signed = httpx.post(
            f"{server.url}/sign-in",
            data={"method": "key", "key": server.key},
            follow_redirects=False,
        )
        page = httpx.get(
            f"{server.url}/models", cookies={"greffier_session": signed.cookies["greffier_session"]}
        )
        assert page.status_code == 200
        html = page.text
        shown = html[html.index(f"<dd><code>{NAME}</code></dd>") :]  # its card, not the table
        assert f"<code>{MODEL}</code>" in shown[:2000] and "36 conversations" in shown[:2000]


def test_an_interrupted_run_goes_on_where_it_stopped(trained, ft_env, sft):
    """Killed after its checkpoint at step 2, resumed to step 4: the same losses as the run
    that was never interrupted (same order, same optimizer moments)."""
    name = "qwen-badges-resumed"
    run = Path(ft_env["GREFFIER_DATA_DIR"]) / "finetune" / name
    args = ["--data", str(sft), "--name", name, "--checkpoint-every", "2"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "greffier",
            "finetune",
            "--base",
            MODEL,
            *TRAINING,
            *args,
            "--steps",
            "12",
        ],
        env=ft_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not (run / "checkpoints" / "step-2").is_dir():
            assert proc.poll() is None, "the run ended before its second step"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    last = max(
        int(p.name.removeprefix("step-"))
        for p in (run / "checkpoints").iterdir()
        if p.name.removeprefix("step-").isdigit()
    )
    assert 2 <= last < 4
    # Without --resume the earlier run is not overwritten.
    refused = train(*args, "--steps", "4", env=ft_env, check=False)
    assert refused.returncode == 1 and "--resume" in refused.stderr
    # Resumed with --merge: the adapter is also folded into a quantized copy of the base.
    done = train(*args, "--steps", "4", "--resume", "--merge", env=ft_env)
    assert f"steps {last + 1}–4 ({4 - last} to run)" in done.stdout
    resumed = state(run, 4)
    assert resumed["step"] == 4 and len(resumed["losses"]) == 4
    whole = trained["state"]["losses"][:4]
    assert resumed["losses"] == pytest.approx(whole, abs=2e-3)
    data = Path(ft_env["GREFFIER_DATA_DIR"])
    catalogue = (data / "catalogue.toml").read_text()
    assert f'id = "{name}"' in catalogue and "steps = 4" in catalogue
    entry = catalogue[catalogue.index(f'id = "{name}"') :]
    merged = data / "models" / name / "model.gguf"
    assert "merged = true" in entry and f'path = "{merged}"' in entry
    # Quantized like its base (Q4_K_M: about the base file's size), checked, and it answers.
    base_file = next((data / "models" / MODEL).glob("*.gguf"))
    assert 0.8 < merged.stat().st_size / base_file.stat().st_size < 1.25
    assert greffier("models", "verify", name, env=ft_env).returncode == 0
    with running_server(ft_env, data) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.key, max_retries=0)
        answer = client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": QUESTIONS[0]}], max_tokens=12
        )
        assert answer.choices[0].message.content


def test_a_tampered_adapter_is_refused(trained, ft_env):
    data = Path(ft_env["GREFFIER_DATA_DIR"])
    adapter = data / "models" / NAME / "adapter.gguf"
    copy = adapter.read_bytes()
    try:
        tampered = bytearray(copy)
        tampered[-100] ^= 0xFF
        adapter.write_bytes(bytes(tampered))
        with running_server(ft_env, data) as server:
            client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.key, max_retries=0)
            with pytest.raises(openai.APIStatusError) as refused:
                client.chat.completions.create(
                    model=NAME, messages=[{"role": "user", "content": QUESTIONS[0]}], max_tokens=5
                )
            assert refused.value.status_code == 503
            error = refused.value.response.json()["error"]
            assert error["code"] == "model_unavailable" and "adapter" in error["message"]
    finally:
        adapter.write_bytes(copy)


def test_an_adapted_model_travels_with_its_adapter(trained, ft_env, tmp_path):
    """models export → import on another data folder: base file and adapter both copied and
    checked, the new catalogue entry points at where they were installed there; a bundle
    whose adapter was changed is refused."""
    bundle = tmp_path / "bundle"
    greffier("models", "export", NAME, "-o", str(bundle), env=ft_env)
    there = tmp_path / "site"
    env = {**ft_env, "GREFFIER_DATA_DIR": str(there), "GREFFIER_CONFIG": str(there / "no.toml")}
    greffier("models", "import", str(bundle), env=env)
    catalogue = (there / "catalogue.toml").read_text()
    installed = there / "models" / NAME
    assert f'id = "{NAME}"' in catalogue and str(installed / "adapter.gguf") in catalogue
    assert greffier("models", "verify", NAME, env=env).returncode == 0
    # The entry still says what it was trained on (its card shows it).
    assert "examples = 36" in catalogue and "sft.jsonl" in catalogue
    # A changed adapter in a bundle is refused, and nothing of it is installed.
    adapter = bundle / NAME / "adapter.gguf"
    adapter.write_bytes(adapter.read_bytes()[:-1] + b"\0")
    other = tmp_path / "other"
    env = {**ft_env, "GREFFIER_DATA_DIR": str(other), "GREFFIER_CONFIG": str(other / "no.toml")}
    refused = greffier("models", "import", str(bundle), env=env, check=False)
    assert refused.returncode == 1 and "adapter" in refused.stderr
    assert not (other / "catalogue.toml").exists()


def test_bad_training_data_is_named_by_line(ft_env, tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text(
        json.dumps({"messages": [{"role": "user", "content": "Bonjour"}]}) + "\n",
        encoding="utf-8",
    )
    done = greffier(
        "finetune", "--base", MODEL, "--data", str(data), "--steps", "1", env=ft_env, check=False
    )
    assert done.returncode == 1
    assert "bad.jsonl, line 1: the last message must be the assistant's answer" in done.stderr
