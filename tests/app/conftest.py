"""Fixtures for the service tests: the simulator and the app over real HTTP and a browser-like
HTTP client. What they log goes to the suite-wide log guard (tests/support/log_capture.py)."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app
from app.migrations import upgrade
from app.simulator import create_simulator_app
from tests.support.log_capture import CAPTURED, FERNET_KEY, SECRET_KEY, simulator_secrets

ROOT = Path(__file__).resolve().parents[2]
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')



# ---------------------------------------------------------------- the simulator
class Simulator:
    """The simulator app served over HTTP in a thread, with admin helpers."""

    def __init__(self) -> None:
        self.app = create_simulator_app({"rate_limit_per_10s": 0})
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def harvest_secrets(self) -> None:
        """Hand what the simulator issued to the log guard (before a reset forgets it)."""
        CAPTURED.secrets.update(simulator_secrets(self.url))

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/_admin/{path}", json=body, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self, **settings: Any) -> None:
        self.harvest_secrets()
        self.admin("POST", "reset", {"rate_limit_per_10s": 0, **settings})

    def faults(self, *rules: dict[str, Any]) -> None:
        self.admin("POST", "faults", list(rules))

    def counts(self) -> dict[str, dict[str, int]]:
        return self.admin("GET", "counts")


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    simulator = Simulator()
    harvester = partial(simulator_secrets, simulator.url)
    CAPTURED.watch(harvester)
    yield simulator
    CAPTURED.unwatch(harvester)
    simulator.server.shutdown()


# ---------------------------------------------------------------- the app
class AppServer:
    """The service on a real socket, with its database file and event log."""

    def __init__(self, tmp: Path, sim: Simulator, **overrides: Any) -> None:
        self.db_url, self._drop_db = fresh_database(tmp)
        self.event_log = tmp / "events.jsonl"
        upgrade(self.db_url)
        self.config = {
            "APP_ENV": "development", "SECRET_KEY": SECRET_KEY, "TOKEN_ENCRYPTION_KEYS": FERNET_KEY,
            "DATABASE_URL": self.db_url, "BASECAMP_LAUNCHPAD_URL": sim.url, "EVENT_LOG": str(self.event_log),
            "BASECAMP_CLIENT_ID": "sim-client-id", "BASECAMP_CLIENT_SECRET": "sim-client-secret",
            "BASECAMP_BACKOFF_BASE": "0.01", "BASECAMP_BACKOFF_MAX": "0.05", "BASECAMP_RETRY_AFTER_MAX": "5",
            "BASECAMP_TIMEOUT": "3", "STATUS_CACHE_TTL": "600", "REFRESH_MARGIN": "1d", **overrides,
        }
        self.app = create_app({**self.config, "EVENT_STREAM": CAPTURED.events})
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a `flask basecamp ...` subprocess on the same database and simulator."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BASECAMP_", "STATUS_", "EVENT_"))}
        env.update({k: str(v) for k, v in self.config.items()})
        env.update(FLASK_APP="wsgi", EVENT_LOG=str(self.event_log), **extra)
        return env

    def cli(self, *args: str, check: bool = True, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run `flask basecamp ARGS` in a subprocess; its output joins the scanned logs."""
        done = subprocess.run([sys.executable, "-m", "flask", "basecamp", *args], cwd=ROOT, env=self.env(**extra_env),
                              capture_output=True, text=True, timeout=60)
        record_process_output(done.stdout, done.stderr)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.app.extensions["db_engine"].dispose()
        self._drop_db()
        CAPTURED.texts.append(self.event_log.read_text() if self.event_log.exists() else "")


def fresh_database(tmp: Path) -> tuple[str, Any]:
    """A new empty database: SQLite in `tmp`, or, when TEST_POSTGRES_URL is set (e.g.
    postgresql+psycopg://postgres@127.0.0.1:5432/postgres), a new PostgreSQL database there.
    Returns (url, drop function)."""
    admin_url = os.environ.get("TEST_POSTGRES_URL")
    if not admin_url:
        return f"sqlite:///{tmp / 'app.db'}", lambda: None
    name = f"t_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def record_process_output(stdout: str, stderr: str) -> list[dict[str, Any]]:
    """Validate and keep a subprocess's FR-016 stdout and its stderr for the secret scan."""
    CAPTURED.texts.append(stderr)
    return CAPTURED.add_event_text(stdout)


@pytest.fixture
def server(tmp_path: Path, sim: Simulator) -> Iterator[AppServer]:
    sim.reset()
    app_server = AppServer(tmp_path, sim)
    yield app_server
    app_server.stop()


@pytest.fixture
def events() -> "EventLog":
    return EventLog()


class EventLog:
    """The FR-016 records emitted since this object was made."""

    def __init__(self) -> None:
        self.start = len(CAPTURED.events.lines)

    def mark(self) -> None:
        """Forget what came before: later `all` calls see only newer records."""
        self.start = len(CAPTURED.events.lines)

    def all(self, event: str | None = None, **match: Any) -> list[dict[str, Any]]:
        records = CAPTURED.event_records(self.start)
        return [r for r in records if (event is None or r["event"] == event)
                and all(r.get(k) == v or r["metadata"].get(k) == v for k, v in match.items())]


# ---------------------------------------------------------------- a browser-like HTTP client
def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1) or match.group(2)


class Browser:
    """A cookie-keeping HTTP client that signs up, connects through the simulator and reads pages."""

    def __init__(self, app_server: AppServer) -> None:
        self.base = app_server.url
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "tests (tests@example.com)"
        self.user_id: int | None = None
        self.password = ""

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(path if path.startswith("http") else self.base + path, timeout=15, **kwargs)

    def post_form(self, path: str, data: dict[str, str], page: str | None = None, **kwargs: Any) -> requests.Response:
        """POST a form with the CSRF token from `page` (default: GET `path` first)."""
        html = page if page is not None else self.get(path).text
        return self.http.post(self.base + path, data={"csrf_token": csrf_token(html), **data}, timeout=15,
                              **kwargs)

    def signup(self, email: str | None = None) -> requests.Response:
        email = email or f"user-{secrets.token_hex(4)}@example.com"
        self.email, self.password = email, secrets.token_urlsafe(12)
        CAPTURED.secrets.add(self.password)
        response = self.post_form("/signup", {"email": email, "password": self.password, "confirm": self.password})
        assert response.status_code == 200, response.text
        return response

    def api_csrf(self) -> str:
        return csrf_token(self.get("/integrations/basecamp/").text)

    def status(self) -> dict[str, Any]:
        response = self.get("/api/integrations/basecamp/status/")
        assert response.status_code == 200, response.text
        return response.json()

    def start_connect(self) -> str:
        """GET connect; returns the simulator authorize URL (its state joins the secrets)."""
        response = self.get("/integrations/basecamp/connect", allow_redirects=False)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        CAPTURED.secrets.update(parse_qs(urlsplit(location).query)["state"])
        return location

    def authorize(self, authorize_url: str, decision: str = "approve", email: str | None = None) -> str:
        """Answer the simulator's authorize page; returns the callback URL it redirects to."""
        page = self.http.get(authorize_url, timeout=15)
        assert page.status_code == 200, page.text
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        fields["email"] = email or re.search(r'name="email" value="([^"]*)"', page.text).group(1)
        fields["decision"] = decision
        action = urlsplit(authorize_url)
        answer = self.http.post(f"{action.scheme}://{action.netloc}/authorization/new", data=fields,
                                allow_redirects=False, timeout=15)
        assert answer.status_code == 302, answer.text
        callback = answer.headers["Location"]
        CAPTURED.secrets.update(parse_qs(urlsplit(callback).query).get("code", []))
        return callback

    def connect(self, decision: str = "approve", email: str | None = None) -> requests.Response:
        """The whole connect dance; returns the app's final page."""
        return self.get(self.authorize(self.start_connect(), decision, email))


@pytest.fixture
def browser(server: AppServer) -> Browser:
    client = Browser(server)
    client.signup()
    return client


@pytest.fixture
def browser_on(tmp_path: Path, sim: Simulator) -> Iterator[Any]:
    """A factory: a signed-up browser on a fresh server with these setting overrides."""
    servers: list[AppServer] = []

    def make(**overrides: str) -> Browser:
        sim.reset()
        servers.append(AppServer(tmp_path / f"server{len(servers)}", sim, **overrides))
        servers[-1].event_log.parent.mkdir(parents=True, exist_ok=True)
        client = Browser(servers[-1])
        client.signup()
        return client

    yield make
    for app_server in servers:
        app_server.stop()


@pytest.fixture
def new_browser(server: AppServer) -> Any:
    """A factory of further signed-up browsers on the same server."""
    def make() -> Browser:
        client = Browser(server)
        client.signup()
        return client
    return make
