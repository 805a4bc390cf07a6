"""The bc3 API as the service uses it: an account's projects."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .launchpad import bearer, unauthorized
from .pipeline import ViewResult, json_error, simulated

bp = Blueprint("bc3", __name__)


@bp.get("/<int:account_id>/projects.json")
@simulated("api")
def projects(account_id: int) -> ViewResult:
    found = bearer()
    if found is None:
        return unauthorized(), "401"
    account = next((a for a in found[0].accounts if a.id == account_id and a.product == "bc3"), None)
    if account is None:
        return json_error(404, "not_found", "No such Basecamp account for this identity."), "404"
    root = request.url_root.rstrip("/")
    return jsonify([{**project, "app_url": f"{root}/{account_id}/projects/{project['id']}"}
                    for project in account.projects]), "200"
