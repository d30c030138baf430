"""docker-compose.yml is for users (no Docker engine here): check its shape, not its run."""
from pathlib import Path

import yaml

from callbacks.main import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_part_of_the_product():
    services = _compose()["services"]
    assert set(services) >= {"postgres", "rabbitmq", "migrate", "scheduler", "worker", "api",
                             "dashboard", "sandbox"}


def test_every_callbacks_service_runs_a_real_command_against_real_servers():
    parser = build_parser()
    for name, service in _compose()["services"].items():
        if service.get("image") != "callback-desk:latest":
            continue
        args = parser.parse_args(service["command"])  # a typo in a command fails here
        assert callable(args.func), name
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg2://"), name
        assert env["BROKER_URL"].startswith("amqp://"), name


def test_dockerfile_copies_every_package():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("delivery", "dashboard", "sandbox", "simulator", "sql", "api", "archive"):
        assert f"COPY {package} ./{package}" in dockerfile
