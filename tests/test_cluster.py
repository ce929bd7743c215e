"""The kill test (issue 15): a whole Greffier cluster on loopback loses an API replica, a
job worker and a model server to SIGKILL under load; afterwards nothing a client was told
had been accepted is lost, duplicated or stuck, no request hung, and every error a client
saw was a clean one.

Real processes, all on 127.0.0.1: the embedded PostgreSQL of conftest (a fresh database);
two `greffier serve --no-worker` replicas on that database and one shared files directory;
two `greffier worker`s; two `python -m llama_cpp.server` serving the bundled 0.5B model,
declared as one catalogue model with `base_urls` (and reached through an `[[alias]]`);
HAProxy in front of the replicas, with deploy/haproxy.cfg as shipped (only its addresses
changed, and a test-only response header naming the replica that answered).

For a fixed time, through HAProxy, with the official openai client and httpx: concurrent
streaming chats on the pooled model, document uploads (one small document each), two
meeting recordings (espeak-ng), searches, and searches with a key whose request quota is
small. Meanwhile: SIGKILL of a worker while it runs a job, of a model server while it
answers, and of a replica while it streams. Then the database, the audit log and /metrics
are read, and a table of counts is printed (pytest -s) and written beside the processes'
logs.

Two things keep the verdicts exact rather than lucky:

- The model server is stopped (SIGSTOP) for a moment before it is killed, so that every
  token it produced has reached its client: a stream that had shown no text when the
  server died had not started there, and must then be answered in full by the other one.
- Quota requests go straight to each replica in turn (not through HAProxy, whose
  least-connections choice could send them all to one): a quota held across replicas
  admits its limit in all, not its limit per replica.

No timed assertions: waiting is bounded by timeouts (a request that outlives its client's
timeout counts as hung), never checked against a speed.
"""

from __future__ import annotations

import itertools
import logging
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import psycopg
from prometheus_client.parser import text_string_to_metric_families

import audiofixtures as af
from conftest import free_port, greffier, wait_http

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
POOLED = "pooled-qwen"  # the catalogue model two llama.cpp servers serve
ALIAS = "assistant"  # the name clients ask for
UPSTREAM_NAME = "upstream-qwen"  # the llama.cpp servers' own name for the model
MODEL_CONTEXT = 512
MAX_TOKENS = 16
LOAD_SECONDS = 40.0
CHAT_CLIENTS = 3
CHAT_PAUSE = 0.5  # seconds between a client's chats
UPLOADS = 50  # documents
PER_UPLOAD = 2  # documents a request (a job): fewer jobs for two busy cores
QUOTA_RPM = 6
QUOTA_REQUESTS = 3 * QUOTA_RPM
QUOTA_SPAN = 50.0  # every quota request within one minute of the first: one window
HEARTBEAT = 2  # seconds; a worker silent for three is taken for dead
CLIENT_TIMEOUT = 90.0  # a request still unanswered after this counts as hung
DRAIN_SECONDS = 2.0  # the stopped model server's last tokens reach their clients
JOBS_TIMEOUT = 240.0
REPLICA_HEADER = "X-Greffier-Replica"
TAG = re.compile(r"\[([a-z]+\d*-\d+)\]")  # each audited request carries its own tag


@dataclass
class Outcome:
    """What one client request ended as, from the client's side."""

    kind: str  # chat | upload | meeting | search | quota
    tag: str
    started: float
    ended: float | None = None
    # served | refused (429) | clean_error (4xx/5xx, OpenAI shape) | stream_error (a final
    # SSE error event after text) | cut (connection lost) | hung (client timeout) |
    # truncated (a stream ended without a finish reason) | unclean (any other answer)
    result: str = ""
    status: int | None = None
    replica: str | None = None
    first_token: float | None = None
    detail: str = ""
    body: dict = field(default_factory=dict)
    names: tuple[str, ...] = ()  # an upload's documents

    def in_flight_at(self, moment: float) -> bool:
        return self.started <= moment and (self.ended is None or self.ended >= moment)


class Recorder:
    def __init__(self):
        self.outcomes: list[Outcome] = []
        self.crashes: list[str] = []  # a load thread's own failure (a bug in this test)
        self._lock = threading.Lock()

    def new(self, kind: str, tag: str) -> Outcome:
        outcome = Outcome(kind, tag, time.monotonic())
        with self._lock:
            self.outcomes.append(outcome)
        return outcome

    def of(self, kind: str, *results: str) -> list[Outcome]:
        with self._lock:
            return [
                o for o in self.outcomes if o.kind == kind and (not results or o.result in results)
            ]

    def thread(self, name: str, target: Callable[[], None]) -> threading.Thread:
        def run():
            try:
                target()
            except Exception as exc:  # reported by the test
                log.exception("Load thread %s failed", name)
                self.crashes.append(f"{name}: {exc!r}")

        return threading.Thread(target=run, name=name, daemon=True)


class Processes:
    """The cluster's processes by name, each with its log; all ended by :meth:`stop_all`."""

    def __init__(self, logs: Path):
        self.logs = logs
        logs.mkdir(exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.killed: dict[str, float] = {}

    def start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("w") as out:
            proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def pause(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGSTOP)

    def kill(self, name: str) -> float:
        """SIGKILL; the moment it was sent (its clients may see the cut before it is reaped)."""
        proc = self.procs[name]
        self.killed[name] = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return self.killed[name]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # a stopped process cannot end itself
                proc.terminate()
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def tails(self, lines: int = 25) -> str:
        return "\n".join(
            f"--- {name} (exit {proc.poll()}) ---\n"
            + "\n".join(self.log_text(name).splitlines()[-lines:])
            for name, proc in self.procs.items()
        )


# --- what a clean error is -------------------------------------------------------------


def _openai_shaped(body) -> bool:
    """``{"error": {"message", "type", "param", "code"}}`` with a message that says something."""
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("message"), str)
        and bool(error["message"].strip())
        and {"type", "param", "code"} <= error.keys()
    )


def _timed_out(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, (httpx.TimeoutException, openai.APITimeoutError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _json(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _classify_answer(out: Outcome, response: httpx.Response) -> None:
    out.status, out.replica = response.status_code, response.headers.get(REPLICA_HEADER)
    body = _json(response)
    if response.is_success:
        out.result, out.body = "served", body if isinstance(body, dict) else {}
    elif _openai_shaped(body):
        out.result = "refused" if response.status_code == 429 else "clean_error"
        out.detail = body["error"]["message"][:200]
    else:
        out.result, out.detail = "unclean", response.text[:200]


def http_call(http: httpx.Client, out: Outcome, method: str, url: str, **kw) -> Outcome:
    try:
        response = http.request(method, url, **kw)
    except httpx.TransportError as exc:
        out.result = "hung" if _timed_out(exc) else "cut"
        out.detail = repr(exc)[:200]
    else:
        _classify_answer(out, response)
    out.ended = time.monotonic()
    return out


def stream_chat(client: openai.OpenAI, out: Outcome) -> Outcome:
    try:
        stream = client.chat.completions.create(
            model=ALIAS,
            messages=[{"role": "user", "content": f"Request [{out.tag}]: name one colour."}],
            max_tokens=MAX_TOKENS,
            temperature=0.7,
            stream=True,
        )
        out.replica, out.status = stream.response.headers.get(REPLICA_HEADER), 200
        finish = None
        for chunk in stream:
            for choice in chunk.choices:
                if choice.delta is not None and choice.delta.content and out.first_token is None:
                    out.first_token = time.monotonic()
                finish = choice.finish_reason or finish
        out.result = "served" if finish else "truncated"
    except openai.APIStatusError as exc:
        _classify_answer(out, exc.response)
    except openai.APIConnectionError as exc:
        out.result = "hung" if _timed_out(exc) else "cut"
        out.detail = repr(exc.__cause__ or exc)[:200]
    except openai.APIError as exc:  # the stream's final error event
        shaped = _openai_shaped({"error": exc.body})
        out.result = "stream_error" if shaped and out.first_token is not None else "unclean"
        out.detail = str(exc)[:200]
    out.ended = time.monotonic()
    return out


# --- the cluster's pieces --------------------------------------------------------------


def catalogue(model_ports: list[int]) -> str:
    urls = ", ".join(f'"http://127.0.0.1:{p}/v1"' for p in model_ports)
    return f"""
[[model]]
id = "{POOLED}"
name = "Qwen2.5-Coder-0.5B (two llama.cpp servers)"
role = "chat"
backend = "openai"
licence = "Apache-2.0"
context_length = {MODEL_CONTEXT}
[model.source]
kind = "upstream"
base_urls = [{urls}]
model = "{UPSTREAM_NAME}"
location = "on-premises"
[model.openness]
weights = {{ status = "open" }}
training_data = {{ status = "closed" }}
training_code = {{ status = "closed" }}
licence = {{ status = "open" }}

[[alias]]
id = "{ALIAS}"
models = ["{POOLED}"]
"""


def haproxy_config(port: int, replicas: dict[str, int]) -> str:
    """deploy/haproxy.cfg with loopback addresses, and a header naming the replica that
    answered (for the test's verdicts only)."""
    text = (ROOT / "deploy" / "haproxy.cfg").read_text()
    text, binds = re.subn(r"(?m)^(\s*)bind \*:8000\b", rf"\1bind 127.0.0.1:{port}", text)
    assert binds == 1, "deploy/haproxy.cfg: one `bind *:8000` expected"
    for name, replica_port in replicas.items():
        text, servers = re.subn(
            rf"(?m)^(\s*server {name}) {name}:8000\b", rf"\1 127.0.0.1:{replica_port}", text
        )
        assert servers == 1, f"deploy/haproxy.cfg: no `server {name} {name}:8000`"
    text, backends = re.subn(
        r"(?m)^(\s*)default_backend api",
        rf"\1http-after-response set-header {REPLICA_HEADER} %s\n\1default_backend api",
        text,
    )
    assert backends == 1
    return text


def llama_server(model_path: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--model_alias",
        UPSTREAM_NAME,
        "--n_ctx",
        str(MODEL_CONTEXT),
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
        # By default a new request ends the stream being generated (with [DONE]): a
        # server shared by a pool must finish each answer.
        "--interrupt_requests",
        "false",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def note(name: str) -> bytes:
    i = int(re.sub(r"\D", "", name))
    return (
        f"# Note de service {i}\n\nLe service instruit la demande numéro {i} selon la "
        f"procédure du règlement intérieur, puis en informe l'usager ({i * 37 % 101}).\n"
    ).encode()


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def wait_for(condition: Callable[[], object], timeout: float, every: float = 0.25):
    """``condition()``'s first true value, or None once ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(every)


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def scrape(port: int) -> dict[tuple[str, frozenset], float] | None:
    """One replica's /metrics (loopback: no token), or None when it does not answer."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def upstream_value(samples: dict | None, name: str, model_port: int) -> float | None:
    """A per-upstream metric of the pooled model for the server on ``model_port``."""
    for (metric, labels), value in (samples or {}).items():
        labels = dict(labels)
        if (
            metric == name
            and labels.get("model") == POOLED
            and f":{model_port}" in labels.get("upstream", "")
        ):
            return value
    return None


# --- the cluster ---------------------------------------------------------------------


@dataclass
class Cluster:
    procs: Processes
    env: dict
    db: str  # the database's URL
    lb: str  # HAProxy's URL
    replica_ports: dict[str, int]
    model_ports: list[int]
    worker_ids: dict[str, int] = field(default_factory=dict)  # procrastinate's, by name
    admin_key: str = ""

    def metrics(self, replica: str) -> dict | None:
        return scrape(self.replica_ports[replica])


WORKER = [sys.executable, "-m", "greffier", "worker"]


def start_cluster(
    procs: Processes, base_env: dict, model_path: Path, postgres_url: str, tmp_path: Path
) -> Cluster:
    from greffier.store.postgres.embedded import create_database

    data = tmp_path / "node"
    data.mkdir()
    (data / "models").symlink_to(Path(base_env["GREFFIER_DATA_DIR"]) / "models")
    model_ports = [free_port(), free_port()]
    (data / "catalogue.toml").write_text(catalogue(model_ports))
    db = create_database(postgres_url, f"kill_{tmp_path.name[-20:]}")
    env = {
        **base_env,
        "GREFFIER_DATA_DIR": str(data),
        "GREFFIER_FILES_DIR": str(tmp_path / "shared-files"),
        "GREFFIER_DATABASE_URL": db,
        "GREFFIER_DATABASE_POOL_SIZE": "5",
        "GREFFIER_DEFAULT_MODEL": POOLED,
        "GREFFIER_PRELOAD_DEFAULT_MODEL": "false",
        "GREFFIER_QUEUE_SIZE": "8",
        "GREFFIER_THREADS": "1",  # eight processes share two cores
        "GREFFIER_UPSTREAM_TIMEOUT": "30",
        "GREFFIER_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "GREFFIER_MAX_AUDIO_SECONDS": "60",
    }
    cluster = Cluster(
        procs,
        env,
        db,
        f"http://127.0.0.1:{free_port()}",
        {"api-1": free_port(), "api-2": free_port()},
        model_ports,
    )
    created = greffier(
        "admin", "create-key", "--user", "admin", "--role", "admin", env=env
    )  # migrates too
    cluster.admin_key = created.stdout.strip().splitlines()[-1]

    for i, port in enumerate(model_ports, start=1):
        procs.start(f"model-{i}", llama_server(model_path, port))
    for name, port in cluster.replica_ports.items():
        serve = [sys.executable, "-m", "greffier", "serve", "--no-worker", "--port", str(port)]
        procs.start(name, serve, env)
    # One after the other: procrastinate numbers its workers as they start, which then
    # tells which worker runs which job.
    for name in ("worker-1", "worker-2"):
        procs.start(name, [*WORKER, "--name", name], env)
        registered = wait_for(
            lambda name=name: (
                procs.procs[name].poll() is None
                and sql(db, "SELECT id FROM procrastinate_workers ORDER BY id")[
                    len(cluster.worker_ids) :
                ]
            ),
            timeout=180,
        )
        assert registered, f"{name} did not start"
        cluster.worker_ids[name] = registered[0][0]
    for i, port in enumerate(model_ports, start=1):
        wait_http(f"http://127.0.0.1:{port}/v1/models", procs.procs[f"model-{i}"])
    for name, port in cluster.replica_ports.items():
        wait_http(f"http://127.0.0.1:{port}/health/live", procs.procs[name])

    config = procs.logs / "haproxy.cfg"
    config.write_text(haproxy_config(int(cluster.lb.rsplit(":", 1)[1]), cluster.replica_ports))
    procs.start("haproxy", ["haproxy", "-db", "-f", str(config)])
    seen: set[str] = set()

    def both_replicas_behind_haproxy() -> bool:
        assert procs.procs["haproxy"].poll() is None, "HAProxy stopped"
        with suppress(httpx.HTTPError, KeyError):
            seen.add(httpx.get(f"{cluster.lb}/health/live", timeout=5).headers[REPLICA_HEADER])
        return set(cluster.replica_ports) <= seen

    assert wait_for(both_replicas_behind_haproxy, timeout=60), seen
    return cluster


@dataclass
class People:
    keys: dict[str, str]  # the agent's keys by label: "load" (no quota), "quota"
    collection_id: int


def provision(cluster: Cluster) -> People:
    """Two members' keys, one of them under a request quota, and a collection."""
    with httpx.Client(
        base_url=cluster.lb, headers={"Authorization": f"Bearer {cluster.admin_key}"}, timeout=60
    ) as admin:
        issued = {}
        for label in ("load", "quota"):
            # One member each: a first key is made at once (a second key for someone who
            # has one waits for a second admin, docs/security.md).
            user = admin.post("/v1/admin/users", json={"name": f"agent-{label}"})
            issued[label] = (
                admin.post(
                    f"/v1/admin/users/{user.raise_for_status().json()['id']}/keys",
                    json={"label": label},
                )
                .raise_for_status()
                .json()
            )
        admin.put(
            "/v1/admin/quotas",
            json={"key_id": issued["quota"]["id"], "requests_per_minute": QUOTA_RPM},
        ).raise_for_status()
        collection = httpx.post(
            f"{cluster.lb}/v1/collections",
            json={"name": "Notes"},
            headers={"Authorization": f"Bearer {issued['load']['key']}"},
            timeout=60,
        )
        # Each replica loads its embedder now, not during the load.
        for port in cluster.replica_ports.values():
            admin.post(
                f"http://127.0.0.1:{port}/v1/search", json={"query": "échauffement"}, timeout=120
            ).raise_for_status()
    return People(
        {label: k["key"] for label, k in issued.items()},
        collection.raise_for_status().json()["id"],
    )


# --- the load ----------------------------------------------------------------------------


class Load:
    """The clients, for a fixed time: what they send and what each request ended as;
    /metrics of the live replicas, read every half second."""

    def __init__(self, cluster: Cluster, people: People, recordings: list[Path]):
        self.cluster, self.people, self.recordings = cluster, people, recordings
        self.recorder = Recorder()
        self.samples: list[tuple[float, str, dict]] = []  # (when, replica, metrics)
        self.meetings_sent = threading.Event()
        self.stopped = threading.Event()
        self._clients: list[httpx.Client] = []
        self.t0 = self.end = 0.0

    def client(self, label: str, base_url: str | None = None) -> httpx.Client:
        http = httpx.Client(
            base_url=base_url or self.cluster.lb,
            headers={"Authorization": f"Bearer {self.people.keys[label]}"},
            timeout=httpx.Timeout(CLIENT_TIMEOUT, connect=5),
        )
        self._clients.append(http)
        return http

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.end = self.t0 + LOAD_SECONDS
        new = self.recorder.thread
        self.threads = {
            "meetings": new("meetings", self.meetings),
            "quota": new("quota", self.quota),
            "searches": new("searches", self.searches),
            **{f"uploads-{i}": new(f"uploads-{i}", lambda i=i: self.uploads(i)) for i in (0, 1)},
            **{
                f"chats-{i}": new(f"chats-{i}", lambda i=i: self.chats(i))
                for i in range(CHAT_CLIENTS)
            },
        }
        self.poller = new("metrics", self.poll_metrics)
        for thread in (*self.threads.values(), self.poller):
            thread.start()

    def running(self) -> bool:
        return time.monotonic() < self.end

    def chats(self, client_no: int) -> None:
        client = openai.OpenAI(
            base_url=f"{self.cluster.lb}/v1",
            api_key=self.people.keys["load"],
            max_retries=0,
            timeout=httpx.Timeout(CLIENT_TIMEOUT, connect=5),
        )
        for n in itertools.count():
            if not self.running():
                return
            out = stream_chat(client, self.recorder.new("chat", f"c{client_no}-{n}"))
            # A person reads the answer before asking again; a refusal must not turn the
            # loop into a flood.
            time.sleep(CHAT_PAUSE if out.result == "served" else 1.0)

    def meetings(self) -> None:
        http = self.client("load")
        try:
            for i, recording in enumerate(self.recordings):
                http_call(
                    http,
                    self.recorder.new("meeting", f"meeting-{i}"),
                    "POST",
                    "/v1/meetings",
                    files={"file": (recording.name, recording.read_bytes())},
                    data={"title": f"Conseil {i}"},
                )
        finally:
            self.meetings_sent.set()

    def uploads(self, first: int) -> None:
        """Two upload threads, the documents spread over three quarters of the load."""
        http = self.client("load")
        self.meetings_sent.wait(CLIENT_TIMEOUT)  # their jobs first: one for each worker
        batches = range(first, UPLOADS // PER_UPLOAD, 2)
        start = time.monotonic()
        pace = (self.end - start) * 0.75 / len(batches)
        for k, batch in enumerate(batches):
            sleep_until(start + k * pace)
            names = [f"note-{batch * PER_UPLOAD + j:02d}.md" for j in range(PER_UPLOAD)]
            out = self.recorder.new("upload", f"upload-{batch}")
            out.names = tuple(names)
            http_call(
                http,
                out,
                "POST",
                f"/v1/collections/{self.people.collection_id}/documents",
                files=[("files", (name, note(name))) for name in names],
            )

    def searches(self) -> None:
        http = self.client("load")
        for n in itertools.count():
            if not self.running():
                return
            query = f"demande numéro {n % UPLOADS} [s-{n}]"
            body = {"query": query, "collections": [self.people.collection_id], "k": 3}
            http_call(http, self.recorder.new("search", f"s-{n}"), "POST", "/v1/search", json=body)
            time.sleep(0.5)

    def quota(self) -> None:
        """The quota key's requests go straight to each replica in turn."""
        names = list(self.cluster.replica_ports)
        direct = [
            self.client("quota", f"http://127.0.0.1:{p}")
            for p in self.cluster.replica_ports.values()
        ]
        for n in range(QUOTA_REQUESTS):
            if time.monotonic() >= self.t0 + QUOTA_SPAN:
                return
            out = self.recorder.new("quota", f"q-{n}")
            body = {"query": f"règlement intérieur [q-{n}]", "k": 1}
            http_call(direct[n % 2], out, "POST", "/v1/search", json=body)
            out.replica = names[n % 2]

    def poll_metrics(self) -> None:
        while not self.stopped.is_set():
            for name in self.cluster.replica_ports:
                if name not in self.cluster.procs.killed:
                    found = self.cluster.metrics(name)
                    if found is not None:
                        self.samples.append((time.monotonic(), name, found))
            self.stopped.wait(0.5)

    def finish(self) -> list[str]:
        """Wait for the load's last requests (each bounded by its client's timeout); the
        names of threads still waiting after that."""
        sleep_until(self.end)
        for thread in self.threads.values():
            thread.join(timeout=CLIENT_TIMEOUT + 30)
        return [name for name, t in self.threads.items() if t.is_alive()]

    def close(self) -> None:
        self.stopped.set()
        if hasattr(self, "poller"):
            self.poller.join(timeout=10)
        for http in self._clients:
            http.close()


# --- the kills ---------------------------------------------------------------------------


@dataclass
class Kills:
    worker: float
    worker_job: tuple | None  # (job id, kind) the killed worker was running
    model: float
    model_busy: bool  # a replica had a request on it
    replica: float
    replica_streaming: bool


def kill_during_load(cluster: Cluster, load: Load) -> Kills:
    procs, db = cluster.procs, cluster.db

    # A worker, while it transcribes a meeting. Its supervisor (systemd, compose) starts
    # a new one, as deploy/ has it.
    def meeting_of_worker_1():
        rows = sql(
            db,
            "SELECT p.args->>'job_id', j.kind FROM procrastinate_jobs p JOIN jobs j "
            "ON j.id = p.args->>'job_id' WHERE p.status = 'doing' AND p.worker_id = %s "
            "AND j.kind = 'meeting'",
            (cluster.worker_ids["worker-1"],),
        )
        return rows[0] if rows else None

    worker_job = wait_for(meeting_of_worker_1, timeout=60)
    t_worker = procs.kill("worker-1")
    procs.start("worker-1b", [*WORKER, "--name", "worker-1b"], cluster.env)

    # A model server, while a replica has a request on it: stopped, its last tokens
    # delivered, then killed.
    sleep_until(load.t0 + 8)

    def model_1_busy() -> bool:
        return any(
            (upstream_value(s, "greffier_upstream_in_flight", cluster.model_ports[0]) or 0) > 0
            for _, _, s in load.samples[-4:]
        )

    model_busy = bool(wait_for(model_1_busy, timeout=15))
    procs.pause("model-1")
    time.sleep(DRAIN_SECONDS)
    t_model = procs.kill("model-1")

    # A replica, while it streams an answer; after the quota's requests, which need both.
    load.threads["quota"].join(timeout=QUOTA_SPAN + CLIENT_TIMEOUT)
    sleep_until(load.t0 + 16)

    def api_1_streaming() -> bool:
        return any(o.replica == "api-1" and o.ended is None for o in load.recorder.of("chat"))

    replica_streaming = bool(wait_for(api_1_streaming, timeout=15, every=0.05))
    t_replica = procs.kill("api-1")
    return Kills(t_worker, worker_job, t_model, model_busy, t_replica, replica_streaming)


# --- what is left afterwards ---------------------------------------------------------------


@dataclass
class Facts:
    jobs: list[tuple]  # (id, kind, status, error)
    queue: dict[str, int]  # procrastinate's rows left, by status
    documents: list[tuple]  # (name, status, chunks, chunk rows, distinct ordinals)
    meetings: list[tuple]  # (id, status, segments, distinct ordinals, index documents)
    audit: list[tuple]  # (action, query) of the agents' chats and searches
    restarted: int  # jobs started again after their worker went silent
    metrics: dict | None  # the surviving replica's, at the end
    drained: float  # when the load's last request ended
    jobs_done: float  # when the last job ended (or the wait did)


def read_facts(cluster: Cluster, people: People) -> Facts:
    db = cluster.db
    drained = time.monotonic()
    wait_for(
        lambda: not sql(db, "SELECT 1 FROM jobs WHERE status IN ('queued', 'running')"),
        timeout=JOBS_TIMEOUT,
        every=1,
    )
    jobs_done = time.monotonic()
    # The survivor's view of the dead model server, once its checks have seen it.
    dead = cluster.model_ports[0]
    wait_for(
        lambda: upstream_value(cluster.metrics("api-2"), "greffier_upstream_up", dead) == 0,
        timeout=30,
    )
    return Facts(
        jobs=sql(db, "SELECT id, kind, status, error FROM jobs"),
        queue=dict(
            sql(db, "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
        ),
        documents=sql(
            db,
            "SELECT d.name, d.status, d.chunks, count(c.id), count(DISTINCT c.ordinal) "
            "FROM documents d LEFT JOIN chunks c ON c.document_id = d.id "
            "WHERE d.collection_id = %s GROUP BY d.id, d.name, d.status, d.chunks",
            (people.collection_id,),
        ),
        meetings=sql(
            db,
            "SELECT m.id, m.status, count(s.id), count(DISTINCT s.ordinal), (SELECT count(*) "
            "FROM documents d JOIN collections c ON c.id = d.collection_id "
            "WHERE c.meeting_id = m.id) FROM meetings m "
            "LEFT JOIN meeting_segments s ON s.meeting_id = m.id GROUP BY m.id, m.status",
        ),
        audit=sql(
            db,
            "SELECT action, query FROM audit_log WHERE user_name IN ('agent-load', 'agent-quota') "
            "AND action IN ('chat', 'search')",
        ),
        restarted=sum(
            cluster.procs.log_text(name).count("starting it again")
            for name in cluster.procs.procs
            if name.startswith("worker")
        ),
        metrics=cluster.metrics("api-2"),
        drained=drained,
        jobs_done=jobs_done,
    )


# --- the test ----------------------------------------------------------------------------


def test_a_cluster_loses_a_replica_a_worker_and_a_model_server_under_load(
    base_env, model_path, postgres_url, tmp_path
):
    began = time.monotonic()
    procs = Processes(tmp_path / "logs")
    recordings = [
        af.speak(text, tmp_path / f"meeting-{i}.wav", voice=voice)
        for i, (voice, text) in enumerate(af.TURNS[:2])
    ]
    with ExitStack() as stack:
        stack.callback(procs.stop_all)
        try:
            cluster = start_cluster(procs, base_env, model_path, postgres_url, tmp_path)
            people = provision(cluster)
            load = Load(cluster, people, recordings)
            stack.callback(load.close)
            load.start()
            kills = kill_during_load(cluster, load)
            hung_threads = load.finish()
            assert not hung_threads, f"load threads still waiting: {hung_threads}"
            facts = read_facts(cluster, people)
        except BaseException:
            print(f"\nProcess logs ({procs.logs}):\n{procs.tails()}")
            raise
    judge(cluster, load, kills, facts, began)


def judge(cluster: Cluster, load: Load, kills: Kills, facts: Facts, began: float) -> None:
    """Count, print the table, then check."""
    recorder = load.recorder
    everything = recorder.outcomes
    dead, survivor = cluster.model_ports

    def lost_with_the_replica(o: Outcome) -> bool:
        """In flight when the replica died, answered by it or by no one: HAProxy retries
        a connection refused, never a request a replica had received."""
        return o.in_flight_at(kills.replica) and o.replica in ("api-1", None)

    def lost(kind: str) -> list[Outcome]:
        return [o for o in recorder.of(kind, "cut", "unclean") if lost_with_the_replica(o)]

    chats = recorder.of("chat")
    # A chat that had shown no text when the model server died had not started there
    # (stopped first, its last tokens delivered): it must be answered in full.
    not_started = [
        o
        for o in chats
        if (o.first_token is None or o.first_token > kills.model) and not lost_with_the_replica(o)
    ]
    waiting_then_served = [
        o for o in not_started if o.started < kills.model and o.result == "served"
    ]
    served_after = [o for o in chats if o.started > kills.model and o.result == "served"]
    stream_errors = recorder.of("chat", "stream_error")
    refused_chats = recorder.of("chat", "clean_error", "refused")
    hung = [o for o in everything if o.result == "hung"]
    truncated = [o for o in everything if o.result == "truncated"]
    unclean = [
        o for o in everything if o.result in ("unclean", "cut") and not lost_with_the_replica(o)
    ]

    accepted = recorder.of("upload", "served")
    accepted_names = {name for o in accepted for name in o.names}
    names = Counter(name for name, *_ in facts.documents)
    documents = {name: tuple(rest) for name, *rest in facts.documents}
    indexed_once = {
        name
        for name, (status, chunks, rows, ordinals) in documents.items()
        if status == "indexed" and chunks == rows == ordinals > 0
    }
    twice = sum(k - 1 for k in names.values()) + sum(
        1 for _, chunks, rows, ordinals in documents.values() if not chunks == rows == ordinals
    )
    not_done = [job for job in facts.jobs if job[2] != "done"]
    meetings_accepted = {o.body.get("id") for o in recorder.of("meeting", "served")}
    meetings_once = [
        m
        for m, status, segments, ordinals, index in facts.meetings
        if m in meetings_accepted
        and status == "transcribed"
        and segments == ordinals > 0
        and index == 1
    ]
    queue_left = sum(n for status, n in facts.queue.items() if status != "succeeded")

    quota = recorder.of("quota")
    quota_served = recorder.of("quota", "served")
    quota_refused = recorder.of("quota", "refused")

    audited = Counter(m.group(1) for _, query in facts.audit if (m := TAG.search(query or "")))
    audited_twice = [t for t, k in audited.items() if k > 1]
    answered = {
        o.tag
        for o in everything
        if o.kind in ("chat", "search", "quota") and o.result in ("served", "stream_error")
    }
    lost_tags = {o.tag for o in everything if lost_with_the_replica(o)}
    refused_tags = {o.tag for o in everything if o.result == "refused"}

    dead_up = upstream_value(facts.metrics, "greffier_upstream_up", dead)
    survivor_up = upstream_value(facts.metrics, "greffier_upstream_up", survivor)
    # What the surviving replica's pool had counted just after the death, and at the end.
    after_death = next(
        (
            (moment, s)
            for moment, name, s in load.samples
            if name == "api-2" and moment > kills.model
        ),
        (None, None),
    )
    answered_by = {
        server: (
            upstream_value(after_death[1], "greffier_upstream_requests_total", server),
            upstream_value(facts.metrics, "greffier_upstream_requests_total", server),
        )
        for server in (dead, survivor)
    }
    through_api_2 = [
        o
        for o in chats
        if o.replica == "api-2" and o.result == "served" and o.started > (after_death[0] or 0)
    ]
    carrying = max(
        (
            upstream_value(s, "greffier_upstream_in_flight", survivor) or 0
            for moment, _, s in load.samples
            if moment > kills.model
        ),
        default=0,
    )

    report = Report()
    report.section("chats (streaming, pooled model, through the alias)")
    report.count("sent", chats)
    report.count("answered in full", recorder.of("chat", "served"))
    report.count("waiting when the model server died, then answered", waiting_then_served)
    report.count("sent after the model server died, answered", served_after)
    report.count("cut after text by its death: final SSE error event", stream_errors)
    report.count("lost with the killed replica", lost("chat"))
    report.section(f"documents ({PER_UPLOAD} an upload) and meetings")
    report.count("uploads sent", recorder.of("upload"))
    report.count("accepted (2xx)", accepted)
    report.count("lost with the killed replica", lost("upload"))
    report.row("documents of accepted uploads", len(accepted_names))
    report.row("documents indexed exactly once", len(indexed_once))
    report.row("documents or chunks held twice", twice)
    report.row("meetings accepted", len(meetings_accepted))
    report.row("meetings transcribed and indexed once", len(meetings_once))
    report.section("jobs")
    report.row("jobs", len(facts.jobs))
    report.row("done", len(facts.jobs) - len(not_done))
    report.row("not done (stuck or failed)", len(not_done))
    report.row("started again after their worker went silent", facts.restarted)
    report.row("queue rows left (procrastinate)", queue_left)
    report.section("searches")
    report.count("sent (key without quota)", recorder.of("search"))
    report.count("answered", recorder.of("search", "served"))
    report.count(f"quota key ({QUOTA_RPM}/min), to each replica in turn: sent", quota)
    report.count("admitted, both replicas together", quota_served)
    report.count("refused (429)", quota_refused)
    report.section("audit log (the load's chats and searches)")
    report.row("chat rows", sum(1 for action, _ in facts.audit if action == "chat"))
    report.row("search rows", sum(1 for action, _ in facts.audit if action == "search"))
    report.row("requests audited twice", len(audited_twice))
    report.row("answered requests not audited", len(answered - audited.keys()))
    report.section("what clients saw")
    report.row("hung (client timeout)", len(hung))
    report.row("streams ended without a finish reason or an error", len(truncated))
    report.row("unclean errors, but for those lost with the killed replica", len(unclean))
    report.count(
        "clean errors (OpenAI shape)",
        [o for o in everything if o.result in ("clean_error", "refused")],
    )
    report.section("/metrics of the surviving replica")
    report.row(f"greffier_upstream_up, dead model server :{dead}", dead_up)
    report.row(f"greffier_upstream_up, survivor :{survivor}", survivor_up)
    report.row("survivor's most requests in flight after the death", carrying)
    for server, what in ((dead, "dead model server"), (survivor, "survivor")):
        first, last = answered_by[server]
        report.row(f"requests answered by the {what}, after its death / end", f"{first}/{last}")
    report.count("chats answered through this replica after the death", through_api_2)
    report.section("kills (seconds into the load)")
    job = kills.worker_job[1] if kills.worker_job else "no job"
    report.row(f"worker-1 (running: {job})", round(kills.worker - load.t0, 1))
    report.row(f"model-1 (a request on it: {kills.model_busy})", round(kills.model - load.t0, 1))
    report.row(f"api-1 (streaming: {kills.replica_streaming})", round(kills.replica - load.t0, 1))
    report.section("phases (seconds; facts, not verdicts)")
    report.row("start: database, processes, HAProxy, people", round(load.t0 - began, 1))
    report.row("load, then its last requests", round(facts.drained - load.t0, 1))
    report.row("jobs finishing after the load", round(facts.jobs_done - facts.drained, 1))
    report.emit(cluster.procs.logs / "cluster-report.txt")

    # Nothing hung; errors were clean, but for requests lost with the killed replica.
    assert not recorder.crashes, recorder.crashes
    assert not hung, [(o.kind, o.tag) for o in hung]
    assert not truncated, [(o.kind, o.tag) for o in truncated]
    assert not unclean, [(o.kind, o.tag, o.result, o.status, o.replica, o.detail) for o in unclean]

    # Chats: not started on the dead model server → answered by the other; cut after
    # text → a final error event, only for streams that had text before the death.
    assert not refused_chats, [(o.tag, o.status, o.detail) for o in refused_chats]
    assert all(o.result == "served" for o in not_started), [
        (o.tag, o.result, o.status, o.detail) for o in not_started if o.result != "served"
    ]
    assert all(o.first_token <= kills.model for o in stream_errors)
    assert served_after, "no chat was answered after the model server died"

    # Uploads: each accepted document indexed exactly once (one of an upload lost with
    # the replica: once, or not at all); every job done; the killed worker's restarted.
    assert not twice, facts.documents
    assert accepted_names <= indexed_once, {
        n: documents.get(n) for n in accepted_names - indexed_once
    }
    assert indexed_once == set(documents), documents
    assert not not_done, not_done
    assert not queue_left, facts.queue
    assert kills.worker_job is not None, "worker-1 ran no meeting's job: nothing was at stake"
    assert facts.restarted >= 1, "the killed worker's job was not started again"
    assert len(meetings_accepted) == len(meetings_once) == 2, facts.meetings

    # Quotas: the key's limit held across both replicas together.
    assert {o.replica for o in quota_served} == set(cluster.replica_ports)
    assert len(quota_served) <= QUOTA_RPM, (
        f"{len(quota_served)} requests admitted for a quota of {QUOTA_RPM} a minute, sent to "
        "two replicas in turn: each replica counts on its own"
    )
    assert quota_refused

    # Audit: one row per answered chat and search, never two, none for a refused one;
    # any other row is a request lost with the killed replica.
    assert not audited_twice, audited_twice
    assert answered <= audited.keys(), answered - audited.keys()
    assert not refused_tags & audited.keys()
    assert audited.keys() - answered <= lost_tags, audited.keys() - answered - lost_tags

    # /metrics of the surviving replica: the dead model server down, the survivor up and
    # answering after the death.
    assert (dead_up, survivor_up) == (0, 1), (dead_up, survivor_up)
    assert carrying >= 1, "no scrape showed the survivor answering"
    (dead_then, dead_end), (survivor_then, survivor_end) = answered_by[dead], answered_by[survivor]
    assert dead_then is not None and dead_end == dead_then, answered_by
    assert survivor_end - survivor_then >= len(through_api_2) >= 1, answered_by


class Report:
    """The table of counts: printed (pytest -s), logged, and written beside the logs."""

    def __init__(self):
        self.lines: list[str] = []

    def section(self, title: str) -> None:
        self.lines.append(title)

    def row(self, what: str, value) -> None:
        self.lines.append(f"  {what:<62} {value!s:>6}")

    def count(self, what: str, outcomes: list) -> None:
        self.row(what, len(outcomes))

    def emit(self, path: Path) -> None:
        text = "\n".join(["Kill test: counts", *self.lines])
        path.write_text(text + "\n")
        log.info("%s", text)
        print(f"\n{text}\n(written to {path})")
