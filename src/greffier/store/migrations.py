"""The SQLite schema, one migration per step, applied in order and recorded by name.

A migration is a plain function registered with :func:`migration`; its name (without
the leading ``m``) is what the ``migrations`` table records, so a database made by an
older Greffier is upgraded in place and never migrated twice. A PostgreSQL store keeps its
own list of the same steps.
"""

from __future__ import annotations

from collections.abc import Callable

from greffier.store.sqlite import EMBEDDING_DIM, NOW, sqlite3

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(function: Migration) -> Migration:
    """Register ``function`` (named ``mNNN_what``) as the next migration."""
    MIGRATIONS.append((function.__name__.removeprefix("m"), function))
    return function


def _run_statements(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it would commit the migration's transaction half-way. A piece
    # is run once it is a complete statement (a trigger's body holds semicolons).
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                db.execute(pending)
            pending = ""


@migration
def m001_identity(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        f"""
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            disabled_at TEXT
        );
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            label TEXT NOT NULL DEFAULT '',
            prefix TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            last_used_at TEXT,
            revoked_at TEXT
        );
        CREATE INDEX api_keys_user ON api_keys(user_id);
        """,
    )


@migration
def m002_documents(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        f"""
        CREATE TABLE collections (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            owner_id INTEGER NOT NULL REFERENCES users(id),
            sensitivity TEXT NOT NULL DEFAULT 'internal'
                CHECK (sensitivity IN ('public', 'internal', 'sensitive', 'secret')),
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            UNIQUE (owner_id, name)
        );
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            format TEXT,
            pages INTEGER,
            status TEXT NOT NULL CHECK (status IN ('pending', 'indexed', 'failed')),
            error TEXT,
            error_code TEXT,
            warnings TEXT NOT NULL DEFAULT '[]',
            chunks INTEGER NOT NULL DEFAULT 0,
            job_id TEXT,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            updated_at TEXT NOT NULL DEFAULT ({NOW}),
            UNIQUE (collection_id, name)
        );
        CREATE INDEX documents_sha ON documents(sha256);
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            collection_id INTEGER NOT NULL,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            page INTEGER,
            heading TEXT NOT NULL DEFAULT '',
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            tokens INTEGER NOT NULL
        );
        CREATE INDEX chunks_document ON chunks(document_id);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            body, content='', contentless_delete=1,
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE VIRTUAL TABLE chunks_vec USING vec0(
            chunk_id INTEGER PRIMARY KEY,
            collection_id INTEGER,
            embedding float[{EMBEDDING_DIM}] distance_metric=cosine
        );
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            owner_id INTEGER REFERENCES users(id),
            collection_id INTEGER REFERENCES collections(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
            total INTEGER NOT NULL DEFAULT 0,
            done INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            updated_at TEXT NOT NULL DEFAULT ({NOW})
        )
        """,
    )


@migration
def m003_vector_log(db: sqlite3.Connection) -> None:
    # Vectors added ('add') and removed ('del'), in commit order: how each process keeps its
    # RAM copy of the vectors in step (store/vectors.py).
    _run_statements(
        db,
        """
        CREATE TABLE vector_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            chunk_id INTEGER NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('add', 'del'))
        )
        """,
    )


@migration
def m004_vocabulary(db: sqlite3.Connection) -> None:
    # Document frequency of each indexed term, to leave out the terms that are everywhere.
    db.execute("CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab(chunks_fts, row)")


@migration
def m005_usage(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        """
        CREATE TABLE usage_daily (
            day TEXT NOT NULL,
            model TEXT NOT NULL,
            requests INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            energy_joules REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (day, model)
        )
        """,
    )


@migration
def m006_meetings(db: sqlite3.Connection) -> None:
    _run_statements(
        db,
        f"""
        CREATE TABLE meetings (
            id INTEGER PRIMARY KEY,
            owner_id INTEGER NOT NULL REFERENCES users(id),
            title TEXT NOT NULL,
            language TEXT,
            speakers_expected INTEGER,
            status TEXT NOT NULL CHECK (status IN ('pending', 'transcribed', 'failed')),
            error TEXT,
            error_code TEXT,
            duration REAL,
            audio_name TEXT NOT NULL,
            audio_sha256 TEXT,
            sensitivity TEXT NOT NULL DEFAULT 'internal'
                CHECK (sensitivity IN ('public', 'internal', 'sensitive', 'secret')),
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            updated_at TEXT NOT NULL DEFAULT ({NOW})
        );
        CREATE TABLE meeting_segments (
            id INTEGER PRIMARY KEY,
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            start REAL NOT NULL,
            end REAL NOT NULL,
            speaker TEXT NOT NULL,
            text TEXT NOT NULL,
            words TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX meeting_segments_meeting ON meeting_segments(meeting_id);
        CREATE TABLE meeting_speakers (
            meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (meeting_id, label)
        );
        ALTER TABLE jobs ADD COLUMN meeting_id INTEGER REFERENCES meetings(id) ON DELETE CASCADE
        """,
    )


@migration
def m007_meeting_documents(db: sqlite3.Connection) -> None:
    # The document under which a meeting's transcript is indexed for search and questions.
    db.execute(
        "ALTER TABLE meetings ADD COLUMN document_id INTEGER REFERENCES documents(id) "
        "ON DELETE SET NULL"
    )


@migration
def m008_minutes(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE meeting_minutes (meeting_id INTEGER PRIMARY KEY REFERENCES meetings(id) "
        "ON DELETE CASCADE, content TEXT NOT NULL, model TEXT NOT NULL, created_at TEXT NOT NULL "
        f"DEFAULT ({NOW}))"
    )


@migration
def m009_access(db: sqlite3.Connection) -> None:
    # People, groups, grants, personal data, audit and quotas (docs/access.md).
    _run_statements(
        db,
        f"""
        ALTER TABLE users ADD COLUMN password_hash TEXT;
        ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
        CREATE TABLE groups (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL DEFAULT ({NOW})
        );
        CREATE TABLE group_members (
            group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
            member_group_id INTEGER REFERENCES groups(id) ON DELETE CASCADE,
            CHECK ((user_id IS NULL) != (member_group_id IS NULL)),
            UNIQUE (group_id, user_id, member_group_id)
        );
        CREATE INDEX group_members_user ON group_members(user_id);
        CREATE INDEX group_members_group ON group_members(member_group_id);
        CREATE TABLE grants (
            id INTEGER PRIMARY KEY,
            resource_type TEXT NOT NULL CHECK (resource_type IN ('collection', 'meeting')),
            resource_id INTEGER NOT NULL,
            subject_type TEXT NOT NULL CHECK (subject_type IN ('user', 'group')),
            subject_id INTEGER NOT NULL,
            permission TEXT NOT NULL CHECK (permission IN ('read', 'write', 'manage', 'deny')),
            granted_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            UNIQUE (resource_type, resource_id, subject_type, subject_id)
        );
        CREATE INDEX grants_subject ON grants(subject_type, subject_id);
        CREATE TRIGGER grants_of_collection AFTER DELETE ON collections BEGIN
            DELETE FROM grants WHERE resource_type = 'collection' AND resource_id = OLD.id;
        END;
        CREATE TRIGGER grants_of_meeting AFTER DELETE ON meetings BEGIN
            DELETE FROM grants WHERE resource_type = 'meeting' AND resource_id = OLD.id;
        END;
        CREATE TRIGGER grants_to_user AFTER DELETE ON users BEGIN
            DELETE FROM grants WHERE subject_type = 'user' AND subject_id = OLD.id;
        END;
        CREATE TRIGGER grants_to_group AFTER DELETE ON groups BEGIN
            DELETE FROM grants WHERE subject_type = 'group' AND subject_id = OLD.id;
            DELETE FROM quotas WHERE subject_type = 'group' AND subject_id = OLD.id;
        END;
        ALTER TABLE collections ADD COLUMN meeting_id INTEGER REFERENCES meetings(id)
            ON DELETE CASCADE;
        ALTER TABLE collections ADD COLUMN pii_policy TEXT NOT NULL DEFAULT 'report'
            CHECK (pii_policy IN ('report', 'mask'));
        ALTER TABLE documents ADD COLUMN pii TEXT NOT NULL DEFAULT '{{}}';
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL DEFAULT ({NOW}),
            user_id INTEGER,
            user_name TEXT,
            key_id INTEGER,
            action TEXT NOT NULL,
            status INTEGER NOT NULL DEFAULT 200,
            model TEXT,
            query TEXT,
            resources TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX audit_log_at ON audit_log(at);
        CREATE INDEX audit_log_user ON audit_log(user_id);
        CREATE TABLE quotas (
            subject_type TEXT NOT NULL CHECK (subject_type IN ('key', 'group')),
            subject_id INTEGER NOT NULL,
            requests_per_minute INTEGER,
            tokens_per_day INTEGER,
            PRIMARY KEY (subject_type, subject_id)
        );
        CREATE TABLE usage_by_key (
            day TEXT NOT NULL,
            key_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            tokens INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, user_id, key_id)
        )
        """,
    )


@migration
def m010_web(db: sqlite3.Connection) -> None:
    # The web interface: sessions (cookie digests, never the cookie itself) and each
    # person's conversations. Both go with their user.
    _run_statements(
        db,
        f"""
        CREATE TABLE web_sessions (
            id TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            key_id INTEGER REFERENCES api_keys(id) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            expires_at TEXT NOT NULL
        );
        CREATE INDEX web_sessions_user ON web_sessions(user_id);
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            sources TEXT NOT NULL DEFAULT '{{}}',
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            updated_at TEXT NOT NULL DEFAULT ({NOW})
        );
        CREATE INDEX conversations_user ON conversations(user_id, updated_at);
        CREATE TABLE conversation_messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            content TEXT NOT NULL,
            citations TEXT NOT NULL DEFAULT '[]',
            model TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL DEFAULT ({NOW})
        );
        CREATE INDEX conversation_messages_conversation
            ON conversation_messages(conversation_id);
        """,
    )


@migration
def m011_job_params(db: sqlite3.Connection) -> None:
    # What a job needs beyond its kind and subject (the model chosen for minutes), as JSON,
    # so a job resumed after a restart runs as it was asked.
    db.execute("ALTER TABLE jobs ADD COLUMN params TEXT NOT NULL DEFAULT '{}'")


@migration
def m012_unique_memberships(db: sqlite3.Connection) -> None:
    # SQLite's UNIQUE treats NULLs as distinct, so (group, user, NULL) could be stored twice
    # (the group then listed its member twice and could not remove them): one each.
    _run_statements(
        db,
        """
        DELETE FROM group_members WHERE rowid NOT IN (
            SELECT min(rowid) FROM group_members
            GROUP BY group_id, user_id, member_group_id
        );
        CREATE UNIQUE INDEX group_members_one_user ON group_members(group_id, user_id)
            WHERE user_id IS NOT NULL;
        CREATE UNIQUE INDEX group_members_one_group ON group_members(group_id, member_group_id)
            WHERE member_group_id IS NOT NULL
        """,
    )


@migration
def m013_counters(db: sqlite3.Connection) -> None:
    # Counters every API process shares (docs/security.md): requests of each quota subject
    # over the last minute, and failed sign-ins per account and per client address. Times
    # are seconds since the epoch (REAL), as the services count them.
    _run_statements(
        db,
        """
        CREATE TABLE request_log (
            subject TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE INDEX request_log_subject ON request_log(subject, at);
        CREATE TABLE signin_failures (
            subject TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            first_at REAL NOT NULL,
            last_at REAL NOT NULL,
            blocked_until REAL NOT NULL DEFAULT 0
        )
        """,
    )


@migration
def m014_credential_requests(db: sqlite3.Connection) -> None:
    # An admin's request for a credential of someone who has content or credentials
    # already, waiting for a second admin (services/identity.py); and what each person is
    # told about their credentials (account notices).
    _run_statements(
        db,
        f"""
        CREATE TABLE credential_requests (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('key', 'password')),
            label TEXT NOT NULL DEFAULT '',
            expires_days INTEGER,
            replaces_key_id INTEGER,
            password_hash TEXT,
            requested_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'cancelled')),
            decided_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            decided_at TEXT
        );
        CREATE INDEX credential_requests_user ON credential_requests(user_id);
        CREATE TABLE account_notices (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            by_user TEXT,
            approved_by TEXT,
            key_prefix TEXT,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            seen_at TEXT
        );
        CREATE INDEX account_notices_user ON account_notices(user_id)
        """,
    )


@migration
def m015_accepted_shares(db: sqlite3.Connection) -> None:
    # A collection or meeting someone else shared enters a person's default search scope
    # only once that person accepts it (a share cannot push text into their answers).
    _run_statements(
        db,
        f"""
        CREATE TABLE accepted_shares (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            resource_type TEXT NOT NULL CHECK (resource_type IN ('collection', 'meeting')),
            resource_id INTEGER NOT NULL,
            accepted_at TEXT NOT NULL DEFAULT ({NOW}),
            PRIMARY KEY (user_id, resource_type, resource_id)
        );
        CREATE TRIGGER accepted_collection AFTER DELETE ON collections BEGIN
            DELETE FROM accepted_shares
                WHERE resource_type = 'collection' AND resource_id = OLD.id;
        END;
        CREATE TRIGGER accepted_meeting AFTER DELETE ON meetings BEGIN
            DELETE FROM accepted_shares WHERE resource_type = 'meeting' AND resource_id = OLD.id;
        END
        """,
    )


@migration
def m016_scoped_terms(db: sqlite3.Connection) -> None:
    # Lexical scores are computed over the collections searched only (BM25 statistics of
    # the whole index would tell a person about words in documents they cannot read): the
    # chunks of a scope and their lengths, counted from this index alone.
    db.execute("CREATE INDEX chunks_collection ON chunks(collection_id, tokens)")


@migration
def m017_responses(db: sqlite3.Connection) -> None:
    # /v1/responses kept for `previous_response_id`: each response with the conversation
    # that led to it, owned by the person who asked; they go with their user.
    _run_statements(
        db,
        f"""
        CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            previous_id TEXT,
            status TEXT NOT NULL,
            output TEXT NOT NULL DEFAULT '[]',
            usage TEXT NOT NULL DEFAULT '{{}}',
            conversation TEXT NOT NULL DEFAULT '[]',
            request TEXT NOT NULL DEFAULT '{{}}',
            created_at TEXT NOT NULL DEFAULT ({NOW})
        );
        CREATE INDEX responses_user ON responses(user_id);
        """,
    )


@migration
def m018_evaluations(db: sqlite3.Connection) -> None:
    # Model evaluations (bias, grounded answers) for the model report card: what produced
    # each result (data set and its digest, Greffier version, the model file's digest) so
    # that a card can say when a result no longer describes the model in use.
    _run_statements(
        db,
        f"""
        CREATE TABLE evaluations (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            kind TEXT NOT NULL,
            dataset TEXT NOT NULL,
            dataset_sha256 TEXT NOT NULL,
            greffier_version TEXT NOT NULL,
            model_sha256 TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '{{}}',
            created_at TEXT NOT NULL DEFAULT ({NOW})
        );
        CREATE INDEX evaluations_model ON evaluations(model, kind, id)
        """,
    )


@migration
def m019_feedback(db: sqlite3.Connection) -> None:
    # Feedback on answers. `answers`: each chat completion's question, answer, cited
    # passages and model, kept under the id the API returned so that its author can rate it
    # (a request with "store": false keeps nothing). `feedback`: one rating per answer, by
    # its author, with a copy of what was rated, and a curator's decision (pending, accepted,
    # rejected) for alignment data sets. Both go with their user. The web history remembers
    # each answer's id, so that a conversation read again can still be rated.
    _run_statements(
        db,
        f"""
        CREATE TABLE answers (
            id TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            citations TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL DEFAULT ({NOW})
        );
        CREATE INDEX answers_user ON answers(user_id);
        CREATE INDEX answers_created ON answers(created_at);
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            answer_id TEXT NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            citations TEXT NOT NULL DEFAULT '[]',
            rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
            correction TEXT,
            reason TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'rejected')),
            curated_by TEXT,
            curated_at TEXT,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            updated_at TEXT NOT NULL DEFAULT ({NOW})
        );
        CREATE INDEX feedback_user ON feedback(user_id);
        CREATE INDEX feedback_status ON feedback(status, id);
        ALTER TABLE conversation_messages ADD COLUMN answer_id TEXT
        """,
    )


@migration
def m020_embedding_space(db: sqlite3.Connection) -> None:
    # The embedder the index's vectors come from (one row). Vectors of another embedder
    # cannot be compared with a question's: a change of embedder means embedding the chunks
    # again (`greffier reindex`), and the vector table takes the new length. An
    # index made before this table had no row: it is adopted by the configured embedder when
    # the lengths agree (services/embedding_space.py).
    _run_statements(
        db,
        f"""
        CREATE TABLE embedding_space (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            model TEXT NOT NULL,
            dimensions INTEGER NOT NULL,
            updated_at TEXT NOT NULL DEFAULT ({NOW})
        )
        """,
    )
