"""The deployment files (deploy/) hold together: the compose file names the services the
docs name and its commands are real commands, HAProxy accepts its configuration, the
systemd units start real commands with the settings file they name, the catalogue
additions load, and the Containerfile pulls models that exist."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import click
import yaml
from typer.main import get_command

from greffier.cli import app
from greffier.models.catalogue import Catalogue
from greffier.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CLI = get_command(app)


def _parses(args: list[str]) -> None:
    """The arguments name a greffier command and its options (parsed, not run)."""
    command: click.Command = CLI
    ctx = command.make_context("greffier", list(args), resilient_parsing=False)
    while isinstance(command, click.Group):
        name, command, rest = command.resolve_command(ctx, ctx.protected_args + ctx.args)
        ctx = command.make_context(name, rest, parent=ctx)


def test_compose_file_has_the_reference_cluster():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "api-1", "api-2", "worker-1", "worker-2", "model-1", "model-2"} <= set(
        services
    )
    assert "haproxy" in services
    scaling = (ROOT / "docs" / "scaling.md").read_text()
    for name in re.findall(r"`((?:api|worker|model)-\d)`", scaling):
        assert name in services, f"docs/scaling.md names {name}, compose.yaml has not"
    for name in ("api-1", "api-2", "worker-1", "worker-2"):
        service = services[name]
        assert service["image"] == "greffier"
        _parses(service["command"])
        environment = service["environment"]
        assert environment["GREFFIER_DATABASE_URL"].startswith("postgresql://")
        # Every GREFFIER_ variable is a real setting.
        for variable in environment:
            assert variable.removeprefix("GREFFIER_").lower() in Settings.model_fields, variable
    assert "pgvector" in services["postgres"]["image"]


def test_haproxy_accepts_its_configuration():
    assert shutil.which("haproxy"), "make test installs Debian's haproxy"
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert "/health/ready" in config  # replicas are checked by their readiness


def test_systemd_units_start_real_commands():
    env = {}
    for line in (DEPLOY / "systemd" / "greffier.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    for key in env:
        assert key.removeprefix("GREFFIER_").lower() in Settings.model_fields, key
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(unit)
        service = parser["Service"]
        assert service["EnvironmentFile"] == "/etc/greffier/greffier.env"
        program, *args = service["ExecStart"].split()
        assert program == "/opt/greffier/bin/greffier"  # the Containerfile's venv
        _parses([a.replace("%i", "8001").replace("%H", "node") for a in args])
        assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_cluster_catalogue_loads(tmp_path):
    catalogue = Catalogue.load(DEPLOY / "catalogue.toml")
    entry = catalogue.get("qwen2.5-coder-1.5b-cluster")
    assert entry.source.base_urls == ["http://model-1:8080/v1", "http://model-2:8080/v1"]
    assert catalogue.candidates("assistant") == [
        "qwen2.5-coder-1.5b-cluster",
        "qwen2.5-coder-1.5b-instruct",
    ]


def test_containerfile_pulls_catalogue_models():
    text = (DEPLOY / "Containerfile").read_text().replace("\\\n", " ")
    names = re.search(r"greffier models pull ([^\n]+)", text).group(1).split()
    catalogue = Catalogue.load()
    assert names
    for name in names:
        assert name in catalogue, name
