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
    packages = [p.parent.name for p in ROOT.glob("*/__init__.py")
                if p.parent.name not in ("tests", "bench")]
    assert len(packages) >= 10
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, package


def test_the_prometheus_example_scrapes_the_ports_the_services_serve_metrics_on():
    services = _compose()["services"]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in \
        services["prometheus"]["volumes"]
    jobs = {job["job_name"]: job for job in
            yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"]}
    parser = build_parser()
    worker = parser.parse_args(services["worker"]["command"])
    assert jobs["callbacks-worker"]["dns_sd_configs"][0]["port"] == worker.metrics_port
    assert worker.metrics_host == "0.0.0.0"
    scheduler = parser.parse_args(services["scheduler"]["command"])
    assert jobs["callbacks-scheduler"]["static_configs"][0]["targets"] == [
        f"scheduler:{scheduler.metrics_port}"]
    api = parser.parse_args(services["api"]["command"])
    assert jobs["callbacks-api"]["static_configs"][0]["targets"] == [f"api:{api.port}"]


def _duration_s(text: str) -> float:
    """A Compose duration (``45s``, ``1m30s``) in seconds."""
    import re
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(text))
    assert parts and any(parts.groups()), f"unreadable duration {text!r}"
    return int(parts[1] or 0) * 60 + float(parts[2] or 0)


def test_the_worker_service_gives_a_graceful_stop_its_time():
    from callbacks.commands import worker_stop_s
    from delivery import settings
    worker = _compose()["services"]["worker"]
    conf = settings.from_env({k: str(v) for k, v in worker["environment"].items()})
    # Docker kills every process at the end of stop_grace_period: it must not come before
    # `callbacks worker` itself gives up on its processes (the grace period plus a margin).
    assert _duration_s(worker["stop_grace_period"]) >= worker_stop_s(conf) + 5
    assert "STOPSIGNAL SIGTERM" in (ROOT / "Dockerfile").read_text()
