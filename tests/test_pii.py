"""French personal identifiers: detection, checks, masking, and the per-collection policy
on the real server."""

from __future__ import annotations

import time

import httpx
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from greffier.documents import pii

TEXT = (
    "Agent : M. Dupont, NIR 1 85 05 78 006 084 91, IBAN FR76 3000 6000 0112 3456 7890 189, "
    "employeur SIREN 732 829 320 (SIRET 732 829 320 00074), tél. 01 23 45 67 89 ou "
    "+33 6 12 34 56 78, courriel jean.dupont@mairie-exemple.fr."
)


def test_each_kind_by_hand():
    assert pii.count(TEXT) == {"nir": 1, "iban": 1, "siren": 1, "siret": 1, "phone": 2, "email": 1}
    masked = pii.mask(TEXT)
    for kind in ("NIR", "IBAN", "SIREN", "SIRET"):
        assert f"[{kind} masqué]" in masked
    assert "jean.dupont" not in masked and "006 084" not in masked and "FR76" not in masked
    assert masked.startswith("Agent : M. Dupont, NIR [NIR masqué], IBAN")


def test_numbers_that_fail_their_check_are_left_alone():
    text = (
        "NIR 1 85 05 78 006 084 92 (wrong key), IBAN FR76 3000 6000 0112 3456 7890 188, "
        "budget 123 456 789 euros, SIRET 732 829 321 00074, date 2024-03-12."
    )
    assert pii.find(text) == []
    assert pii.mask(text) == text


def _nir_key(digits: str) -> str:
    return f"{97 - int(digits) % 97:02d}"


@given(
    sex=st.sampled_from("12"),
    year=st.integers(0, 99),
    month=st.integers(1, 12),
    department=st.integers(1, 95),
    commune=st.integers(1, 990),
    order=st.integers(1, 999),
    spaced=st.booleans(),
)
def test_any_valid_nir_is_found_and_masked(sex, year, month, department, commune, order, spaced):
    digits = f"{sex}{year:02d}{month:02d}{department:02d}{commune:03d}{order:03d}"
    parts = [
        sex,
        f"{year:02d}",
        f"{month:02d}",
        f"{department:02d}",
        f"{commune:03d}",
        f"{order:03d}",
        _nir_key(digits),
    ]
    number = (" " if spaced else "").join(parts)
    text = f"Numéro de sécurité sociale : {number}. Merci."
    assert [f.kind for f in pii.find(text)] == ["nir"]
    assert pii.mask(text) == "Numéro de sécurité sociale : [NIR masqué]. Merci."


@given(st.integers(10_000_000, 99_999_999))
def test_siren_follows_luhn(body):
    siren = f"{body}{luhn.calc_check_digit(str(body))}"
    text = f"Entreprise {siren} à Lyon."
    assert [f.kind for f in pii.find(text)] == ["siren"]
    wrong = siren[:-1] + str((int(siren[-1]) + 1) % 10)
    assert pii.find(f"Entreprise {wrong} à Lyon.") == []


def test_masking_policy_on_the_server(http: httpx.Client):
    masked = http.post("/v1/collections", json={"name": "Paie", "pii_policy": "mask"}).json()
    plain = http.post("/v1/collections", json={"name": "Paie en clair"}).json()
    assert masked["pii_policy"] == "mask" and plain["pii_policy"] == "report"
    body = f"# Fiche de paie\n\n{TEXT}\n".encode()
    docs = {}
    for col in (masked, plain):
        job = http.post(
            f"/v1/collections/{col['id']}/documents", files=[("files", ("fiche.md", body))]
        ).json()
        deadline = time.monotonic() + 120
        while (state := http.get(f"/v1/jobs/{job['job_id']}").json())["status"] != "done":
            assert state["status"] != "failed" and time.monotonic() < deadline
            time.sleep(0.3)
        docs[col["id"]] = state["documents"][0]["id"]
    for doc_id in docs.values():  # both report what they hold
        found = http.get(f"/v1/documents/{doc_id}").json()["personal_data"]
        assert found == {"nir": 1, "iban": 1, "siren": 1, "siret": 1, "phone": 2, "email": 1}
    shown = http.get(f"/v1/documents/{docs[masked['id']]}/chunks").json()["data"]
    text = " ".join(c["text"] for c in shown)
    assert "[NIR masqué]" in text and "jean.dupont" not in text and "FR76" not in text
    clear = " ".join(
        c["text"] for c in http.get(f"/v1/documents/{docs[plain['id']]}/chunks").json()["data"]
    )
    assert "jean.dupont@mairie-exemple.fr" in clear
    # The masked identifiers are not searchable either.
    hits = http.post(
        "/v1/search",
        json={
            "query": "jean.dupont mairie-exemple",
            "collections": [masked["id"]],
            "mode": "lexical",
        },
    ).json()["data"]
    assert all("jean.dupont" not in h["text"] for h in hits)
    bad = http.post("/v1/collections", json={"name": "X", "pii_policy": "hide"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "pii_policy"
    changed = http.patch(f"/v1/collections/{plain['id']}", json={"pii_policy": "mask"})
    assert changed.status_code == 200 and changed.json()["pii_policy"] == "mask"
