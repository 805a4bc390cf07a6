"""`make run`: migrate a local SQLite database, start the simulator and the app, stop both on Ctrl-C.

Dev secrets (SECRET_KEY, a Fernet key) are generated once into var/dev-secrets.env (mode 0600)
unless the environment provides them. With BASECAMP_CLIENT_ID, BASECAMP_CLIENT_SECRET and
BASECAMP_REDIRECT_URI set, no simulator is started and the app talks to the real Launchpad.
Human output goes to stderr; stdout carries the FR-016 events.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO
from urllib.error import URLError
from urllib.request import urlopen

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
SECRETS_FILE = VAR / "dev-secrets.env"
REAL_LAUNCHPAD_VARS = ("BASECAMP_CLIENT_ID", "BASECAMP_CLIENT_SECRET", "BASECAMP_REDIRECT_URI")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def dev_secrets() -> dict[str, str]:
    """SECRET_KEY and TOKEN_ENCRYPTION_KEYS from var/dev-secrets.env, created (0600) on first run."""
    if not SECRETS_FILE.exists():
        fd = os.open(SECRETS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"SECRET_KEY={secrets.token_urlsafe(32)}\n")
            out.write(f"TOKEN_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n")
        say(f"generated development secrets in {SECRETS_FILE.relative_to(ROOT)}")
    values = {}
    for line in SECRETS_FILE.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip():
            values[name.strip()] = value.strip()
    return values


def relay_redacted(stream: IO[str]) -> None:
    """Copy the simulator's log lines to stderr without OAuth states, codes or tokens."""
    from app.events import redact

    for line in stream:
        sys.stderr.write(redact(line))
    sys.stderr.flush()


def wait_for(url: str, process: subprocess.Popen, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} did not start (exit code {process.returncode})")
        try:
            urlopen(url, timeout=1).close()  # nosec B310 - url is built here from 127.0.0.1 and a port
            return
        except URLError as exc:
            if getattr(exc, "code", None):  # an HTTP error answer still means it is up
                return
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def main() -> int:
    (VAR / "log").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if not (env.get("SECRET_KEY") and env.get("TOKEN_ENCRYPTION_KEYS")):
        for name, value in dev_secrets().items():
            env.setdefault(name, value)
    port = env.get("PORT", "5000")
    sim_port = env.get("SIMULATOR_PORT", "5001")
    for name, value in (("PORT", port), ("SIMULATOR_PORT", sim_port)):
        if not value.isdigit() or not 0 < int(value) < 65536:
            say(f"configuration error: {name}={value!r} is not a TCP port")
            return 2
    real = all(env.get(name) for name in REAL_LAUNCHPAD_VARS)
    env.setdefault("APP_ENV", "development")
    env.setdefault("DATABASE_URL", f"sqlite:///{VAR / 'app.db'}")
    env.setdefault("EVENT_LOG", str(VAR / "log" / "events.jsonl"))
    if not real:
        env["BASECAMP_LAUNCHPAD_URL"] = f"http://127.0.0.1:{sim_port}"
        env.setdefault("BASECAMP_CLIENT_ID", "sim-client-id")
        env.setdefault("BASECAMP_CLIENT_SECRET", "sim-client-secret")
        env.pop("BASECAMP_REDIRECT_URI", None)

    from app.config import Config, ConfigError
    from app.migrations import upgrade

    try:
        Config.from_env(env)
    except ConfigError as exc:
        say(f"configuration error: {exc}")
        return 2
    upgrade(env["DATABASE_URL"])
    children: list[subprocess.Popen] = []
    try:
        if not real:
            sim = subprocess.Popen([sys.executable, "-m", "app.simulator", "--host", "127.0.0.1", "--port", sim_port],
                                   cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            children.append(sim)
            threading.Thread(target=relay_redacted, args=(sim.stdout,), daemon=True).start()
            wait_for(f"http://127.0.0.1:{sim_port}/_admin/counts", sim)
        app_proc = subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from werkzeug.serving import run_simple; import wsgi; "
             f"run_simple('127.0.0.1', {int(port)}, wsgi.app, threaded=True)"],
            cwd=ROOT, env=env)
        children.append(app_proc)
        wait_for(f"http://127.0.0.1:{port}/healthz", app_proc)
        say("")
        say(f"  App:        http://127.0.0.1:{port}/")
        say(f"  Launchpad:  {'the real Launchpad' if real else f'simulator at http://127.0.0.1:{sim_port}/'}")
        say(f"  Events:     stdout and {env['EVENT_LOG']}")
        say("  Sign in:    open the app, choose 'Sign up' (any email, 8+ character password),")
        say("              then 'Connect Basecamp' and Approve on the simulator page.")
        say("  Stop:       Ctrl-C")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        say("a server exited; stopping")
        return 1
    except KeyboardInterrupt:
        say("\nstopping")
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
