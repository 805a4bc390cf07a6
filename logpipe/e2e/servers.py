"""Start and stop the simulator and the app on loopback, and run the app's CLI against them."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 120.0
_SUMMARY = re.compile(r"refresh-due: (.*)")


def _read_banner(process: subprocess.Popen, pattern: str, name: str) -> re.Match[str]:
    """Read the child's stdout until `pattern` matches (bounded in time)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    if process.stdout is None:
        raise RuntimeError("the server was started without a stdout pipe")
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{name} exited before listening (code {process.wait()})")
        found = re.search(pattern, line)
        if found:
            return found
    raise RuntimeError(f"{name} did not start within {START_TIMEOUT_S:.0f} s")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Services:
    """The simulator and the app, with a fresh SQLite database and event log under `workdir`."""

    workdir: Path
    flow_ttl_s: float
    app_settings: dict[str, str] = field(default_factory=dict)
    sim_url: str = ""
    app_url: str = ""
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _secrets: dict[str, str] = field(default_factory=lambda: {
        "SECRET_KEY": secrets.token_urlsafe(32), "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode()})
    #: every secret handed out in the run (keys, passwords, the simulator's codes and tokens)
    handed_out: set[str] = field(default_factory=set)

    @property
    def event_log(self) -> Path:
        return self.workdir / "events.jsonl"

    def env(self) -> dict[str, str]:
        """The app's environment (the same for the server and every CLI command)."""
        env = {**os.environ, "APP_ENV": "development", **self._secrets,
               "DATABASE_URL": f"sqlite:///{self.workdir / 'app.db'}", "EVENT_LOG": str(self.event_log),
               "BASECAMP_LAUNCHPAD_URL": self.sim_url, **self.app_settings}
        env.pop("BASECAMP_REDIRECT_URI", None)
        return env

    def leaked(self) -> list[str]:
        """Lines of the event log and the app's stderr holding a secret handed out in the run."""
        texts = [path.read_text(errors="replace") for path in (self.event_log, self.workdir / "app.stderr")
                 if path.exists()]
        return [line for text in texts for line in text.splitlines()
                if any(secret in line for secret in self.handed_out)]

    def start(self, sim_settings: dict[str, Any], faults: list[dict[str, Any]]) -> None:
        """Simulator first (its URL goes into the app's config), then migrate, then the app."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        sim = subprocess.Popen([sys.executable, "-m", "app.simulator", "--host", "127.0.0.1", "--port", "0"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._procs.append(sim)
        self.sim_url = _read_banner(sim, r"(http://127\.0\.0\.1:\d+)", "simulator").group(1)
        self.admin("POST", "/_admin/reset", sim_settings)
        if faults:
            self.admin("POST", "/_admin/faults", faults)
        self.cli("migrate")
        app = subprocess.Popen([sys.executable, "-m", "logpipe.e2e.appserver", "--flow-ttl", str(self.flow_ttl_s)],
                               cwd=REPO, env=self.env(), stdout=subprocess.PIPE,
                               stderr=(self.workdir / "app.stderr").open("w"), text=True)
        self._procs.append(app)
        port = _read_banner(app, r"port=(\d+)", "app").group(1)
        self.app_url = f"http://127.0.0.1:{port}"
        requests.get(f"{self.app_url}/healthz", timeout=10).raise_for_status()

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """A call to the simulator's admin API; its JSON answer."""
        response = requests.request(method, f"{self.sim_url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def counts(self) -> dict[str, dict[str, int]]:
        """What the simulator really answered, by endpoint and outcome."""
        return self.admin("GET", "/_admin/counts")

    def cli(self, *args: str) -> str:
        """Run `flask --app wsgi basecamp <args>`; its stderr (human output). Raises on failure."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "basecamp", *args], cwd=REPO,
                              env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=CLI_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"flask basecamp {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stderr

    def refresh_due(self, margin: str) -> dict[str, int]:
        """One `refresh-due` pass (which ends with an account-health snapshot); its summary counts."""
        found = _SUMMARY.search(self.cli("refresh-due", "--margin", margin))
        if found is None:
            raise RuntimeError("refresh-due printed no summary")
        return {k: int(v) for k, v in (pair.split("=") for pair in found.group(1).split(", "))}

    def stop(self) -> None:
        """Stop the app, then the simulator (the app's last events are then on disk); the
        simulator's issued codes and tokens join `handed_out` first."""
        if self.sim_url and self._procs:
            for issued in self.admin("GET", "/_admin/secrets").values():
                self.handed_out.update(issued)
        self.handed_out.update(self._secrets.values())
        for process in reversed(self._procs):
            _stop(process)
            if process.stdout:
                process.stdout.close()
        self._procs.clear()
