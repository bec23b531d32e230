"""Checks of the deployment files: the systemd unit, the Dockerfile, the compose file and the CI script.

Three kinds of test, by cost:

- static checks of the files (always run, milliseconds);
- ``systemd-analyze verify`` / ``security`` on the unit (skipped when systemd-analyze is absent;
  Debian package ``systemd``);
- the container smoke tests, marked ``container``: build the image with podman and run it. They take a
  minute or more (a fresh machine first builds the local ``python:3.12-slim`` stand-in with
  ``scripts/make-base-image.sh``), so they run only with ``CFM_CONTAINER_TEST=1``; see
  ``../shared/ops/container-check.md`` for why podman is driven the way it is here.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "ceasefire-monitor.service"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
STATE_DIR = "/var/lib/ceasefire-monitor"
IMAGE = "localhost/ceasefire-monitor:test"

# Until "container" is listed under [tool.pytest.ini_options] markers, asking for the mark warns, and
# filterwarnings = ["error"] would turn that into a collection error for the whole file.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    container = pytest.mark.container


# --------------------------------------------------------------------------------------------------
# systemd unit


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Return {section: [(key, value), ...]} in file order; keys may repeat (e.g. SystemCallFilter)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"key outside a section: {raw!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


def unit_values(key: str, section: str = "Service") -> list[str]:
    return [v for k, v in parse_unit(UNIT.read_text())[section] if k == key]


def unit_value(key: str, section: str = "Service") -> str:
    values = unit_values(key, section)
    assert values, f"{key}= missing from [{section}] of {UNIT.name}"
    return values[-1]


@pytest.fixture
def checkable_unit(tmp_path: Path) -> Path:
    """A copy of the unit whose ExecStart binary exists, so `verify` does not fail on a missing install.

    The copy keeps the file name: systemd derives the unit name (and so StateDirectory defaults,
    DynamicUser's user name) from it.
    """
    true = shutil.which("true") or "/bin/true"
    text = re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={true}", UNIT.read_text())
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    return copy


def systemd_analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze not installed (Debian package: systemd)")
    return exe


def test_unit_passes_systemd_analyze_verify(checkable_unit: Path) -> None:
    proc = subprocess.run(
        [systemd_analyze(), "verify", str(checkable_unit)], capture_output=True, text=True, timeout=60
    )
    # Unknown keys and bad values are only warnings with exit status 0: any output is a failure.
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0 and not output, output


def test_unit_is_well_sandboxed(checkable_unit: Path) -> None:
    exe = systemd_analyze()
    proc = subprocess.run(
        [exe, "security", "--offline=yes", "--threshold=20", "--no-pager", str(checkable_unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in proc.stderr and "unrecognized" in proc.stderr:
        pytest.skip("systemd-analyze too old for `security --offline` (needs systemd >= 250)")
    summary = [line for line in proc.stdout.splitlines() if "Overall exposure level" in line]
    # threshold 20 = exposure level 2.0 on the printed 0-10 scale; the unit scores about 1.3.
    assert proc.returncode == 0, "\n".join(summary) or proc.stderr


def test_unit_runs_the_daemon_as_a_notify_service_with_watchdog() -> None:
    assert unit_value("Type") == "notify"
    assert unit_value("ExecStart") == "/usr/local/bin/ceasefire-monitor run"
    assert unit_value("WatchdogSec") == "120"
    assert unit_value("Restart") == "on-failure"
    assert unit_value("RestartSec")
    assert unit_value("KillSignal") == "SIGTERM"
    assert unit_value("TimeoutStopSec")
    assert unit_value("EnvironmentFile") == "-/etc/ceasefire-monitor/env"
    assert unit_value("StateDirectory") == "ceasefire-monitor"
    assert unit_value("DynamicUser") == "yes" or unit_value("User") not in ("", "root", "0")
    assert unit_value("WantedBy", section="Install") == "multi-user.target"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("CapabilityBoundingSet", ""),
    ],
)
def test_unit_sandboxing_directive(key: str, expected: str) -> None:
    assert unit_value(key) == expected


def test_unit_filters_system_calls() -> None:
    assert "@system-service" in unit_values("SystemCallFilter")


# --------------------------------------------------------------------------------------------------
# Dockerfile, .dockerignore, compose file


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")),
    )
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def dockerfile_args(instruction: str) -> list[str]:
    return [args for word, args in dockerfile_instructions() if word == instruction]


def test_dockerfile_builds_from_python_slim() -> None:
    assert dockerfile_instructions()[0] == ("FROM", "python:3.12-slim")


def test_dockerfile_installs_the_project_non_editable() -> None:
    runs = " ".join(dockerfile_args("RUN"))
    assert "pip install --no-cache-dir ." in runs
    assert "pip install -e" not in runs and "--editable" not in runs


def test_dockerfile_runs_as_non_root() -> None:
    users = dockerfile_args("USER")
    assert users, "no USER instruction: the daemon would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users[-1]


def test_dockerfile_has_healthcheck_on_healthz() -> None:
    (check,) = dockerfile_args("HEALTHCHECK")
    assert "CMD" in check and "http://127.0.0.1:8080/healthz" in check
    assert "curl" not in check and "wget" not in check  # neither is in the slim image


def test_dockerfile_declares_state_volume_port_and_command() -> None:
    assert any(STATE_DIR in v for v in dockerfile_args("VOLUME"))
    assert f"STATE_DIRECTORY={STATE_DIR}" in " ".join(dockerfile_args("ENV"))
    assert "CEASEFIRE_MONITOR_API_BIND=0.0.0.0" in " ".join(dockerfile_args("ENV"))
    assert "8080" in dockerfile_args("EXPOSE")
    assert dockerfile_args("CMD")[-1] == '["ceasefire-monitor", "run"]'


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "*.db"} <= patterns


def test_compose_runs_two_daemons_against_postgres() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    daemons = {name: s for name, s in services.items() if "build" in s}
    assert len(daemons) >= 2, f"expected two daemon instances, found {sorted(daemons)}"
    for name, svc in daemons.items():
        url = svc["environment"]["CEASEFIRE_MONITOR_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://"), (name, url)
        assert svc["depends_on"]["db"]["condition"] == "service_healthy", name
        assert svc.get("init") is True, f"{name}: without init, SIGTERM is lost on a PID 1 Python"
    db = services["db"]
    assert re.search(r"postgres:1[56]\b", db["image"]), db["image"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "DESK_SLACK_URL=" in (ROOT / "deploy" / ".env.example").read_text()


@pytest.mark.parametrize("script", [".ci/run", "scripts/make-base-image.sh"])
def test_shell_scripts_parse(script: str) -> None:
    path = ROOT / script
    assert path.read_text().startswith("#!/usr/bin/env bash")
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_ci_runs_the_readme_test_command() -> None:
    text = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in text
    assert ".venv/bin/python -m pytest -q" in text


# --------------------------------------------------------------------------------------------------
# Container smoke tests (podman), CFM_CONTAINER_TEST=1


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} -> exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def image() -> str:
    """Build the project's Dockerfile unchanged with podman; return the image tag.

    Skips unless CFM_CONTAINER_TEST=1, and when scripts/make-base-image.sh says podman can't work here
    (it prints SKIP; with STRICT=1 in the environment it fails instead).
    """
    if os.environ.get("CFM_CONTAINER_TEST") != "1":
        pytest.skip("container smoke test takes minutes: set CFM_CONTAINER_TEST=1 to run it")
    base = subprocess.run(
        ["bash", str(ROOT / "scripts" / "make-base-image.sh")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    last = (base.stdout.strip().splitlines() or [""])[-1]
    assert base.returncode == 0, f"make-base-image.sh failed:\n{base.stdout}\n{base.stderr}"
    if not last.startswith("OK:"):
        pytest.skip(f"no local base image: {last}")
    build_replacing(IMAGE, "--format", "docker", str(ROOT))
    return IMAGE


def build_replacing(tag: str, *args: str) -> None:
    """`podman build` TAG, then drop the image TAG named before if it is no longer used.

    Repeated runs would otherwise leave a dangling image of several hundred MB each time.
    """
    old = podman("image", "inspect", "-f", "{{.Id}}", tag, check=False).stdout.strip()
    podman("build", "--pull=never", "--network=host", "-t", tag, *args, timeout=900)
    new = podman("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip()
    if old and old != new:
        podman("rmi", old, check=False)  # fails harmlessly while a container still uses it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> int:
    """Status of a GET that bypasses any HTTP_PROXY from the environment; raises OSError if no answer."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture
def container_name() -> Iterator[str]:
    name = f"cfm-smoke-{uuid.uuid4().hex[:8]}"
    yield name
    podman("rm", "-f", "-t", "2", name, check=False)


@container
@pytest.mark.timeout(900)
def test_image_metadata(image: str) -> None:
    fmt = "|".join(
        [
            "{{.Config.User}}",
            "{{json .Config.Healthcheck}}",
            "{{json .Config.Volumes}}",
            "{{json .Config.ExposedPorts}}",
        ]
    )
    user, health, volumes, ports = podman("image", "inspect", "-f", fmt, image).stdout.strip().split("|")
    assert user.split(":")[0] not in ("", "root", "0")
    assert "/healthz" in health, "HEALTHCHECK dropped: build with --format docker"
    assert STATE_DIR in volumes
    assert "8080/tcp" in ports


@container
@pytest.mark.timeout(900)
def test_image_runs_as_non_root_with_writable_state_dir(image: str) -> None:
    out = podman(
        "run",
        "--rm",
        image,
        "sh",
        "-c",
        'id -u && touch "$STATE_DIRECTORY/.probe" && echo "$CEASEFIRE_MONITOR_API_BIND"',
    ).stdout
    uid, bind = out.split()
    assert uid != "0" and bind == "0.0.0.0"


@container
@pytest.mark.timeout(900)
def test_image_cli_answers_version(image: str) -> None:
    proc = podman("run", "--rm", image, "ceasefire-monitor", "--version", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\d+\.\d+", proc.stdout), proc.stdout


@container
@pytest.mark.timeout(900)
def test_container_serves_healthz_and_stops_on_sigterm(image: str, container_name: str) -> None:
    port = free_port()
    podman("run", "-d", "--name", container_name, "--init", "-p", f"127.0.0.1:{port}:8080", image)
    deadline = time.monotonic() + 90  # first start migrates a fresh SQLite database
    status: int | None = None
    while time.monotonic() < deadline:
        try:
            status = http_get(f"http://127.0.0.1:{port}/healthz")
            if status == 200:
                break
        except OSError:
            pass
        running = podman("inspect", "-f", "{{.State.Running}}", container_name).stdout.strip()
        if running != "true":
            logs = podman("logs", container_name, check=False)
            pytest.fail(f"container exited before /healthz answered:\n{logs.stdout}\n{logs.stderr}")
        time.sleep(0.5)
    if status != 200:
        logs = podman("logs", "--tail", "30", container_name, check=False)
        pytest.fail(f"/healthz did not answer 200 (last: {status}):\n{logs.stdout}\n{logs.stderr}")

    check = podman("healthcheck", "run", container_name, check=False)
    assert check.returncode == 0, f"HEALTHCHECK unhealthy: {check.stdout}{check.stderr}"

    podman("stop", "-t", "10", container_name, check=False, timeout=60)
    code = podman("inspect", "-f", "{{.State.ExitCode}}", container_name).stdout.strip()
    # The exit status tells a clean stop from a kill, however long a busy machine took to get there.
    assert code in ("0", "143"), f"exit {code} after SIGTERM (137 = ignored SIGTERM, killed after 10 s)"


SYSTEMD_CONTAINERFILE = """\
FROM {image}
USER root
RUN apt-get update && apt-get install -y --no-install-recommends systemd && rm -rf /var/lib/apt/lists/*
COPY deploy/ceasefire-monitor.service /etc/systemd/system/
RUN systemctl enable ceasefire-monitor.service
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT []
CMD ["/bin/sh", "-c", "rm -rf /var/lib/ceasefire-monitor && exec /lib/systemd/systemd"]
"""
# The rm: the app image ships /var/lib/ceasefire-monitor (its VOLUME) in a lower overlay layer, and
# DynamicUser's move of it to /var/lib/private fails there (status=238/STATE_DIRECTORY, EXDEV); a
# real host has no such directory before the first start.


@container
@pytest.mark.timeout(900)
def test_unit_starts_under_systemd(image: str, container_name: str, tmp_path: Path) -> None:
    """The real unit under a real systemd (in a privileged container): READY=1 arrives, sandbox holds.

    `active` needs the daemon's sd_notify READY=1 (Type=notify) under DynamicUser, ProtectSystem=strict
    and the other sandboxing settings; a daemon that never notifies stays `activating`, then fails.
    """
    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(SYSTEMD_CONTAINERFILE.format(image=image))
    tag = f"{IMAGE}-systemd"
    build_replacing(tag, "-f", str(containerfile), str(ROOT))
    # --image-volume=ignore: with the image's VOLUME mounted on /var/lib/ceasefire-monitor, DynamicUser
    # can't move the state directory to /var/lib/private (mount point: EBUSY). --privileged:
    # without it systemd's sandboxing fails with status=226/NAMESPACE. --network=none: no port clashes.
    flags = ["--privileged", "--systemd=always", "--image-volume=ignore", "--network=none"]
    podman("run", "-d", "--name", container_name, *flags, tag)
    state = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        proc = podman("exec", container_name, "systemctl", "is-active", "ceasefire-monitor", check=False)
        state = proc.stdout.strip()
        if state in ("active", "failed"):
            break
        time.sleep(0.5)
    show = podman(
        "exec",
        container_name,
        "systemctl",
        "show",
        "-p",
        "User,Result,NRestarts,StatusText",
        "ceasefire-monitor",
        check=False,
    ).stdout
    journal = podman(
        "exec", container_name, "journalctl", "-u", "ceasefire-monitor", "--no-pager", "-n", "30", check=False
    ).stdout
    assert state == "active", f"unit is {state!r}\n{show}\n{journal}"
