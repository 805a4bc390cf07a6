"""/healthz, error pages, configuration errors and the maintenance commands."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import requests
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import create_engine, text

from app import ConfigError, create_app
from tests.app.conftest import ROOT, record_process_output


def test_livez_answers_without_database(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/missing-dir/app.db", "EVENT_STREAM": None})
    assert app.test_client().get("/livez").json == {"status": "ok"}


def test_healthz_reports_database_and_counts(server, browser):
    assert requests.get(server.url + "/healthz", timeout=5).json() == {
        "status": "ok", "database": "ok", "integrations": {"connected": 0, "expired": 0},
        "event_log": {"write_failures": 0}}
    browser.connect()
    health = requests.get(server.url + "/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["integrations"] == {"connected": 1, "expired": 0}


def test_healthz_is_503_when_the_database_is_down(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/missing-dir/app.db", "EVENT_STREAM": None})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json == {"status": "error", "database": "error",
                                                             "integrations": None,
                                                             "event_log": {"write_failures": 0}}


def test_error_pages_are_plain_and_json_under_api(server):
    missing = requests.get(server.url + "/nope", timeout=5)
    assert missing.status_code == 404 and "Not Found" in missing.text and "Traceback" not in missing.text
    api = requests.get(server.url + "/api/integrations/basecamp/nope", timeout=5)
    assert api.status_code == 404 and api.json()["error"] == "not_found"
    wrong = requests.get(server.url + "/api/integrations/basecamp/disconnect", timeout=5)
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


def test_unhandled_exception_is_a_plain_500(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/app.db", "EVENT_STREAM": None})

    def boom() -> str:
        raise RuntimeError("kaboom-internal-detail")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom")
    assert response.status_code == 500 and "kaboom" not in response.text and "Traceback" not in response.text


def test_config_errors_are_clear_without_traceback(server):
    bad = server.cli("health-snapshot", check=False, STATUS_CACHE_TTL="abc")
    assert bad.returncode == 2 and "STATUS_CACHE_TTL='abc' is not a number" in bad.stderr
    assert "Traceback" not in bad.stderr
    env = server.env(APP_ENV="production")
    del env["SECRET_KEY"]
    prod = subprocess.run([sys.executable, "-m", "flask", "basecamp", "health-snapshot"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    record_process_output(prod.stdout, prod.stderr)
    assert prod.returncode == 2 and "APP_ENV=production requires SECRET_KEY" in prod.stderr
    assert "Traceback" not in prod.stderr
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEYS"):
        create_app({"TOKEN_ENCRYPTION_KEYS": "not-a-key"})
    with pytest.raises(ConfigError, match="REFRESH_MARGIN"):
        create_app({"REFRESH_MARGIN": "soon"})


def test_health_snapshot_command_emits_account_health(server, browser):
    browser.connect()
    done = server.cli("health-snapshot")
    [record] = [r for r in record_process_output(done.stdout, "") if r["event"] == "basecamp_account_health"]
    assert record["level"] == "INFO" and record["status"] == "success"
    assert {k: record["metadata"][k] for k in ("total_accounts", "connected_accounts", "expired_accounts")} == {
        "total_accounts": 1, "connected_accounts": 1, "expired_accounts": 0}


def test_refresh_loop_runs_passes_until_terminated(server):
    proc = subprocess.Popen([sys.executable, "-m", "flask", "basecamp", "refresh-due", "--every", "1s"], cwd=ROOT,
                            env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    records = record_process_output(out, err)
    assert proc.returncode == 0, err
    assert len([r for r in records if r["event"] == "basecamp_account_health"]) >= 2


def test_migrate_and_rotate_keys(server, browser, tmp_path):
    fresh = server.cli("migrate", DATABASE_URL=f"sqlite:///{tmp_path}/fresh.db")
    assert "newest revision" in fresh.stderr
    browser.connect()
    old_key = server.config["TOKEN_ENCRYPTION_KEYS"]
    new_key = Fernet.generate_key().decode()
    server.cli("rotate-keys", TOKEN_ENCRYPTION_KEYS=f"{new_key},{old_key}")
    engine = create_engine(server.db_url)
    with engine.connect() as db:
        stored = db.execute(text("SELECT access_token_enc, refresh_token_enc FROM basecamp_connections")).one()
    engine.dispose()
    for value in stored:
        Fernet(new_key).decrypt(value.encode())
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(value.encode())


def test_models_and_migrations_agree(tmp_path):
    from alembic import command

    from app.migrations import alembic_config, upgrade

    url = f"sqlite:///{tmp_path}/check.db"
    upgrade(url)
    command.check(alembic_config(url))  # raises when the models need a migration the scripts lack
