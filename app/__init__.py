"""The Basecamp integration service: `create_app` builds the Flask app."""
from __future__ import annotations

import logging
import sys
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from app.config import ConfigError, load_config
from app.db import get_session, init_db
from app.events import configure as configure_events
from app.events import redact

__all__ = ["ConfigError", "create_app"]

csrf = CSRFProtect()
login_manager = LoginManager()


class RedactFilter(logging.Filter):
    """Strip codes, states and tokens from server log lines (e.g. the callback's request line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_REDACT = RedactFilter()


def _install_log_redaction(app: Flask) -> None:
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", app.logger.name):
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment plus `config` overrides; ConfigError on bad settings.

    Besides the settings in app.config, `config` may hold Flask keys (TESTING, ...) and
    EVENT_STREAM: where FR-016 events go besides EVENT_LOG (default sys.stdout; None for none).
    Migrations are not run here: `flask basecamp migrate` (or app.migrations.upgrade) does that.
    """
    app = Flask(__name__)
    app.config.update(load_config(config))
    configure_events(stream=app.config.get("EVENT_STREAM", sys.stdout), path=app.config["EVENT_LOG"] or None)
    _install_log_redaction(app)
    init_db(app)

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    login_manager.session_protection = "basic"
    oauth = OAuth(app)  # one registry per app (tests build several apps)
    launchpad = app.config["BASECAMP_LAUNCHPAD_URL"]
    oauth.register(
        "basecamp", overwrite=True,
        client_id=app.config["BASECAMP_CLIENT_ID"], client_secret=app.config["BASECAMP_CLIENT_SECRET"],
        authorize_url=f"{app.config['BASECAMP_LAUNCHPAD_PUBLIC_URL'] or launchpad}/authorization/new",
        access_token_url=f"{launchpad}/authorization/token",
        user_agent=app.config["BASECAMP_USER_AGENT"],
    )

    from app.auth import bp as auth_bp
    from app.auth import load_user
    from app.cli import basecamp_cli
    from app.errors import register_error_handlers
    from app.health import bp as health_bp
    from app.integrations.basecamp import api_bp, bp as basecamp_bp
    from app.integrations.basecamp.service import BasecampService
    from app.openapi import bp as openapi_bp
    from app.security import init_security

    login_manager.user_loader(load_user)
    app.extensions["basecamp"] = BasecampService(app, get_session(app))
    app.register_blueprint(auth_bp)
    app.register_blueprint(basecamp_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(openapi_bp)
    init_security(app)
    app.cli.add_command(basecamp_cli)
    register_error_handlers(app)
    return app
