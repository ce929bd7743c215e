"""The web interface's parts that need no browser: its words, sessions, conversations, and
the passage viewer's text rebuilt from chunks. Real SQLite, real Argon2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greffier.errors import AuthenticationFailed, NotFound
from greffier.services.container import Services
from greffier.services.conversations import title_of
from greffier.services.principal import OPERATOR
from greffier.services.sessions import SessionService
from greffier.settings import Settings
from greffier.store.records import Chunk
from greffier.web import i18n
from greffier.web.chat import passage_blocks

WEB = Path(__file__).parent.parent / "src" / "greffier" / "web"

# Keys built at display time from a prefix and a value.
DYNAMIC = {
    "nav.": ["chat", "documents", "meetings", "models", "admin"],
    "role.": ["admin", "member"],
    "sensitivity.": ["public", "internal", "sensitive", "secret"],
    "chat.role_": ["user", "assistant"],
    "models.role_": ["chat", "embedding", "speech", "speaker", "voice"],
    "models.component_": [
        "weights",
        "training_data",
        "training_code",
        "evaluation_code",
        "licence",
    ],
    "models.status_": ["open", "restricted", "closed", "unknown"],
    "admin.section_": ["users", "keys", "groups", "quotas", "audit"],
    "js.role_": ["user", "assistant"],
    "js.meeting_": ["pending", "transcribed", "failed"],
    "js.sensitivity_": ["public", "internal", "sensitive", "secret"],
    "js.status_": ["pending", "indexed", "failed"],
    "sharing.level_": ["read", "write", "manage", "deny"],
    "js.level_": ["read", "write", "manage", "deny"],
}


def used_keys() -> set[str]:
    keys: set[str] = set()
    for template in (WEB / "templates").glob("*.html"):
        keys |= set(re.findall(r"\bt\('([a-z0-9_.]+)'", template.read_text()))
    for script in (WEB / "static").glob("*.js"):
        keys |= set(re.findall(r"\bt\([\"`](js\.[a-z0-9_.]+)[\"`]", script.read_text()))
    for python in WEB.glob("*.py"):
        keys |= set(re.findall(r'"((?:signin|admin\.done|error)\.[a-z0-9_]+)"', python.read_text()))
    for prefix, values in DYNAMIC.items():
        keys |= {prefix + v for v in values}
    return {k for k in keys if not k.endswith((".", "_", ".html"))}


def test_every_word_on_screen_exists_in_french_and_english():
    missing = sorted(k for k in used_keys() if k not in i18n.MESSAGES)
    assert not missing, missing
    for key, (fr, en) in i18n.MESSAGES.items():
        assert fr.strip() and en.strip(), key
        assert set(re.findall(r"{\w+}", fr)) == set(re.findall(r"{\w+}", en)), key


def test_texts_fill_their_values_and_scripts_get_only_theirs():
    assert i18n.text("fr", "chat.page", page=4) == "page 4"
    assert i18n.text("en", "header.signed_in_as", name="alice") == "Signed in: alice"
    assert i18n.text("fr", "error.418") == i18n.text("fr", "error.title")
    strings = i18n.script_strings("en")
    assert strings["js.answered"] == "Answer complete."
    assert all(k.startswith("js.") for k in strings)
    assert i18n.verdict("fr", "closed") == "fermé"
    assert i18n.verdict("en", "closed") == "closed"


def test_a_passage_is_rebuilt_from_overlapping_chunks_and_marked():
    text = "Premier paragraphe. " * 10 + "Le passage cité est ici. Suite du texte."
    chunks = [
        Chunk(1, 1, 1, 0, text[0:120], 3, "Titre", 0, 120, 30),
        Chunk(2, 1, 1, 1, text[100:], 3, "Titre", 100, len(text), 30),
        Chunk(3, 1, 1, 2, "Autre page.", 4, "", 500, 511, 3),
    ]
    start = text.index("Le passage")
    end = start + len("Le passage cité est ici.")
    blocks = passage_blocks(chunks, 100, end)
    assert len(blocks) == 1 and blocks[0]["page"] == 3  # the cited chunk's page only
    rebuilt = "".join(t for t, _ in blocks[0]["parts"])
    assert rebuilt == text  # the overlap [100, 120) is shown once
    marked = "".join(t for t, m in blocks[0]["parts"] if m)
    assert marked == text[100:end]


@pytest.fixture
def people(tmp_path) -> Services:
    return Services.build(Settings(data_dir=tmp_path, preload_default_model=False), run_jobs=False)


def test_a_session_follows_its_user_and_key(people):
    identity, sessions = people.identity, people.sessions
    identity.create_user(OPERATOR, "alice", "member", "un mot de passe solide")
    opened = sessions.open_with_password("alice", "un mot de passe solide")
    assert len(opened.token) >= 40 and opened.session.csrf != opened.token
    assert sessions.resolve(opened.token).principal.user == "alice"
    # The database keeps a digest, never the cookie's value.
    stored = people.database.query("SELECT id FROM web_sessions")[0][0]
    assert stored != opened.token and len(stored) == 64

    with pytest.raises(AuthenticationFailed):
        sessions.open_with_password("alice", "pas le bon mot de passe")
    alice = identity.user_named("alice")
    identity.change_user(OPERATOR, alice.id, disabled=True)
    with pytest.raises(AuthenticationFailed):
        sessions.resolve(opened.token)  # disabled: the session ends at once
    identity.change_user(OPERATOR, alice.id, disabled=False)
    with pytest.raises(AuthenticationFailed):
        sessions.resolve(opened.token)  # and it was deleted, not merely refused

    issued = identity.issue_key(OPERATOR, "bob", "admin")
    by_key = sessions.open_with_key(issued.key)
    assert sessions.resolve(by_key.token).principal.key_id == issued.record_id
    identity.revoke_key(OPERATOR, issued.record_id)
    with pytest.raises(AuthenticationFailed):
        sessions.resolve(by_key.token)

    again = sessions.open_with_password("alice", "un mot de passe solide")
    sessions.close(again.token)
    with pytest.raises(AuthenticationFailed):
        sessions.resolve(again.token)
    with pytest.raises(AuthenticationFailed):
        sessions.resolve("")


def test_a_session_expires(people):
    people.identity.create_user(OPERATOR, "carol", "member", "un mot de passe solide")
    brief = SessionService(people.sessions.store, people.identity, hours=1e-9)
    opened = brief.open_with_password("carol", "un mot de passe solide")
    with pytest.raises(AuthenticationFailed):
        brief.resolve(opened.token)


def test_conversations_are_private_and_keep_citations(people):
    identity, conversations = people.identity, people.conversations
    alice = identity.authenticate(identity.issue_key(OPERATOR, "alice", "member").key)
    admin = identity.authenticate(identity.issue_key(OPERATOR, "root", "admin").key)
    first = conversations.start(alice, "Combien de jours de congé pour un mariage ?", "m", {})
    citation = {"index": 1, "document_id": 3, "document": "accord.pdf", "page": 2}
    conversations.add(alice, first.id, "user", "Combien de jours ?")
    conversations.add(alice, first.id, "assistant", "Cinq jours [1].", [citation], "qwen")
    messages = conversations.messages(alice, first.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].citations == [citation] and messages[1].model == "qwen"
    assert [c.id for c in conversations.list(alice)] == [first.id]
    with pytest.raises(NotFound):
        conversations.messages(admin, first.id)  # admins included
    assert conversations.list(admin) == []
    conversations.delete(alice, first.id)
    assert conversations.list(alice) == []


def test_a_title_is_the_first_question_cut_at_a_word():
    assert title_of("  Bonjour\n à tous ") == "Bonjour à tous"
    long = "mot " * 40
    title = title_of(long)
    assert title.endswith("…") and len(title) <= 81 and "mo…" not in title
