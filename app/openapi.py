"""`GET /api/openapi.json`: the OpenAPI 3.1 description of the JSON API (status, disconnect, healthz, livez)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

bp = Blueprint("openapi", __name__)

_NULLABLE_TEXT = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _json(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description,
                              "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
    if headers:
        answer["headers"] = headers
    return answer


_UNAUTHORIZED = _json("Not signed in", "Error")
_NO_STORE = {"Cache-Control": {"schema": {"type": "string", "const": "no-store"}}}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Basecamp Integration API", "version": "1.0.0",
             "description": "Connection status and disconnect for the signed-in user (session cookie); "
                            "state-changing calls need the CSRF token of a page in the X-CSRFToken header."},
    "paths": {
        "/api/integrations/basecamp/status/": {"get": {
            "operationId": "getStatus", "summary": "The signed-in user's Basecamp connection status",
            "security": [{"session": []}],
            "responses": {"200": _json("The status (served from a cache while unchanged)", "Status", _NO_STORE),
                          "401": _UNAUTHORIZED}}},
        "/api/integrations/basecamp/disconnect": {"post": {
            "operationId": "disconnect", "summary": "Delete our copy of the signed-in user's Basecamp tokens",
            "security": [{"session": [], "csrf": []}],
            "responses": {"200": _json("Disconnected (`disconnected` false when nothing was connected)",
                                       "Disconnect", _NO_STORE),
                          "400": _json("Missing or invalid CSRF token", "Error"),
                          "401": _UNAUTHORIZED}}},
        "/healthz": {"get": {
            "operationId": "healthz", "summary": "Database reachability and connection counts",
            "responses": {"200": _json("Healthy", "Health"), "503": _json("Database unreachable", "Health")}}},
        "/livez": {"get": {
            "operationId": "livez", "summary": "Liveness: the process answers",
            "responses": {"200": _json("Alive", "Live")}}},
    },
    "components": {
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
        },
        "schemas": {
            "Error": {"type": "object", "required": ["error", "message"], "additionalProperties": False,
                      "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
            "Status": {
                "type": "object", "additionalProperties": False,
                "required": ["provider", "state", "account_id", "account_name", "expires_at", "last_refresh_at",
                             "last_refresh_result", "consecutive_failures", "verified", "checked_at", "cache_hit"],
                "properties": {
                    "provider": {"const": "basecamp"},
                    "state": {"enum": ["connected", "expired", "disconnected"]},
                    "account_id": _NULLABLE_TEXT, "account_name": _NULLABLE_TEXT,
                    "expires_at": _NULLABLE_TIME, "last_refresh_at": _NULLABLE_TIME,
                    "last_refresh_result": _NULLABLE_TEXT,
                    "consecutive_failures": {"type": "integer", "minimum": 0},
                    "verified": {"type": "boolean"},
                    "checked_at": {"type": "string", "format": "date-time"},
                    "cache_hit": {"type": "boolean"},
                }},
            "Disconnect": {
                "type": "object", "additionalProperties": False,
                "required": ["provider", "state", "disconnected"],
                "properties": {"provider": {"const": "basecamp"}, "state": {"const": "disconnected"},
                               "disconnected": {"type": "boolean"}}},
            "Health": {
                "type": "object", "additionalProperties": False,
                "required": ["status", "database", "integrations", "event_log"],
                "properties": {
                    "status": {"enum": ["ok", "error"]}, "database": {"enum": ["ok", "error"]},
                    "integrations": {"oneOf": [
                        {"type": "null"},
                        {"type": "object", "additionalProperties": False, "required": ["connected", "expired"],
                         "properties": {"connected": {"type": "integer", "minimum": 0},
                                        "expired": {"type": "integer", "minimum": 0}}}]},
                    "event_log": {"type": "object", "additionalProperties": False, "required": ["write_failures"],
                                  "description": "FR-016 lines this process could not write to EVENT_LOG",
                                  "properties": {"write_failures": {"type": "integer", "minimum": 0}}}}},
            "Live": {"type": "object", "additionalProperties": False, "required": ["status"],
                     "properties": {"status": {"const": "ok"}}},
        },
    },
}


@bp.get("/api/openapi.json")
def openapi() -> Response:
    """The OpenAPI description; public, like the endpoints' existence."""
    return jsonify(SPEC)
