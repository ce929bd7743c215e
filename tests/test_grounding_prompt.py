"""The system message of a grounded answer: Greffier's own, or the operator's
(`grounding_instructions`), with the numbered passages where it says {sources}."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from conftest import MODEL
from greffier.models.backends.base import Generation, Message
from greffier.services.answering import Retrieval
from greffier.services.container import Services
from greffier.settings import Settings

PASSAGE = "La piscine municipale ouvre de 9 h à 19 h pendant l'été."
OWN = "Tu es le greffier de la mairie. Extraits :\n{sources}\nRéponds en {language_name}."


def system_message(base_env: dict, folder: Path, question: str, **settings) -> str:
    """The system message prepared for ``question`` over one indexed passage."""
    folder.mkdir()
    (folder / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    services = Services.build(
        Settings(data_dir=folder, default_model=MODEL, **settings), run_jobs=False
    )
    try:
        who = services.identity.local_principal("agent", "admin")
        col = services.documents.ensure_collection(who, "piscine")
        sub = services.documents.submit(who, col.id, [("piscine.md", PASSAGE.encode())])
        services.documents.run_job(sub.job_id)
        prepared = services.answering.prepare(
            who,
            MODEL,
            Generation(messages=(Message("user", question),)),
            Retrieval(collections=[col.id], k=2),
        )
    finally:
        asyncio.run(services.close())
    assert prepared.canned is None and prepared.citations[0]["document"] == "piscine.md"
    system = prepared.generation.messages[0]
    assert system.role == "system"
    return system.content


def test_the_operators_instructions_carry_the_passages(base_env, tmp_path):
    french = system_message(
        base_env, tmp_path / "fr", "Quand ouvre la piscine municipale ?", grounding_instructions=OWN
    )
    assert french == f"Tu es le greffier de la mairie. Extraits :\n[1] (piscine.md)\n{PASSAGE}\n" \
        "Réponds en French."  # fmt: skip
    english = system_message(
        base_env,
        tmp_path / "en",
        "When does the municipal swimming pool (piscine municipale) open?",
        grounding_instructions=OWN,
    )
    assert english.endswith("Réponds en English.") and PASSAGE in english


def test_without_them_greffier_s_own_in_the_question_s_language(base_env, tmp_path):
    french = system_message(base_env, tmp_path / "fr", "Quand ouvre la piscine municipale ?")
    assert french.startswith("Tu réponds aux questions à partir des sources numérotées")
    assert french.endswith(f"Sources :\n[1] (piscine.md)\n{PASSAGE}")


def test_instructions_without_a_place_for_the_passages_are_refused(tmp_path):
    with pytest.raises(ValidationError, match=r"\{sources\}"):
        Settings(data_dir=tmp_path, grounding_instructions="Réponds brièvement.")
