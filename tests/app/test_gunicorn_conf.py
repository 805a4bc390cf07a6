"""gunicorn.conf.py as gunicorn itself reads it (`--print-config`, `--check-config`)."""
import subprocess
import sys

import pytest

from tests.app.conftest import ROOT


def _gunicorn(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "APP_ENV": "development"}
    return subprocess.run([sys.executable, "-m", "gunicorn", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def _settings(output: str) -> dict[str, str]:
    return {name.strip(): value.strip() for name, _, value in (line.partition("=") for line in output.splitlines())}


def test_defaults_serve_the_app_with_threads_and_an_access_log() -> None:
    done = _gunicorn("--print-config")
    assert done.returncode == 0, done.stderr
    settings = _settings(done.stdout)
    assert (settings["wsgi_app"], settings["worker_class"], settings["workers"], settings["threads"]) == (
        "wsgi:app", "gthread", "2", "8")
    assert settings["accesslog"] == "-" and settings["control_socket_disable"] == "True"


def test_sizes_come_from_the_environment() -> None:
    done = _gunicorn("--print-config", GUNICORN_WORKERS="3", GUNICORN_THREADS="4")
    assert done.returncode == 0, done.stderr
    settings = _settings(done.stdout)
    assert (settings["workers"], settings["threads"]) == ("3", "4")


@pytest.mark.parametrize("name, value", [("GUNICORN_WORKERS", "two"), ("GUNICORN_THREADS", "0"), ("GUNICORN_WORKERS", "-1")])
def test_a_bad_size_is_a_clear_error(name: str, value: str) -> None:
    done = _gunicorn("--check-config", **{name: value})
    assert done.returncode != 0
    assert f"configuration error: {name} must be a whole number of at least 1, not {value!r}" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
