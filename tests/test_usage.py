"""Usage extensions: energy estimate, language, English-equivalent tokens; daily totals."""

from __future__ import annotations

import json

import httpx

from conftest import MODEL, greffier
from test_tokens import write_parallel


def test_english_equivalent_comes_from_the_measured_parity(server, client, tmp_path):
    folder = write_parallel(tmp_path / "parallel")
    greffier(
        "tokens",
        "report",
        "--corpus",
        str(folder),
        "--languages",
        "en,fr",
        "-t",
        MODEL,
        "-o",
        str(tmp_path / "report"),
        env=server.env,
    )
    measured = json.loads((server.data / "tokens" / "parity.json").read_text())["rows"]
    parity = next(
        r["parity"] for r in measured if r["tokenizer"] == MODEL and r["language"] == "fr"
    )
    assert parity > 1
    reply = client.chat.completions.create(
        model=MODEL,
        max_tokens=3,
        messages=[{"role": "user", "content": "Quelle est la capitale de la France ?"}],
    )
    usage = reply.usage.model_dump()
    assert usage["language"] == "fr"
    assert usage["token_parity"] == round(parity, 3)
    assert usage["english_equivalent_tokens"] == round(usage["total_tokens"] / parity)
    assert usage["energy_joules"] > 0


def test_admin_sees_daily_totals_members_do_not(server, client):
    before = {
        (r["day"], r["model"]): r
        for r in httpx.get(
            f"{server.url}/v1/admin/usage", headers={"Authorization": f"Bearer {server.key}"}
        ).json()["data"]
    }
    reply = client.chat.completions.create(
        model=MODEL, max_tokens=2, messages=[{"role": "user", "content": "Bonjour"}]
    )
    rows = httpx.get(
        f"{server.url}/v1/admin/usage?days=1", headers={"Authorization": f"Bearer {server.key}"}
    ).json()["data"]
    row = next(r for r in rows if r["model"] == MODEL)
    # Compared day by day: a run across midnight (UTC) starts a new row.
    old = before.get(
        (row["day"], MODEL), {"requests": 0, "completion_tokens": 0, "energy_joules": 0}
    )
    assert row["requests"] == old["requests"] + 1
    assert row["completion_tokens"] == old["completion_tokens"] + reply.usage.completion_tokens
    assert row["energy_joules"] > old["energy_joules"]
    member = (
        greffier("admin", "create-key", "--user", "dora", "--role", "member", env=server.env)
        .stdout.strip()
        .splitlines()[-1]
    )
    r = httpx.get(f"{server.url}/v1/admin/usage", headers={"Authorization": f"Bearer {member}"})
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    table = greffier("admin", "usage", "--days", "1", env=server.env).stdout
    assert MODEL in table and "Wh" in table
