"""Auth routes. Sign-in clears the session and starts a fresh one (no session fixation)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from app.auth.forms import SignInForm, SignUpForm
from app.db import get_session
from app.models import BasecampConnection, User
from app.security import check_signin, signin_failed

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class SignedInUser(UserMixin):
    """The signed-in person as handlers need them, read with one light query per request.

    `basecamp_key` is the (row id, version) of their Basecamp connection, read in the same
    query, so the status cache can validate a hit without another database round trip.
    """

    id: int
    email: str
    basecamp_key: tuple[int, int] | None


_USER_BY_ID = (
    select(User.id, User.email, BasecampConnection.id.label("conn_id"), BasecampConnection.version)
    .outerjoin(BasecampConnection, BasecampConnection.user_id == User.id)
    .where(User.id == bindparam("uid"))
)


def load_user(user_id: str) -> SignedInUser | None:
    """Flask-Login's user loader: one Core query, no ORM identity map (it runs on every request)."""
    try:
        uid = int(user_id)
    except ValueError:
        return None
    with current_app.extensions["db_engine"].connect() as conn:
        row = conn.execute(_USER_BY_ID, {"uid": uid}).first()
    if row is None:
        return None
    return SignedInUser(row.id, row.email, None if row.conn_id is None else (row.conn_id, row.version))


def safe_next(target: str | None) -> str:
    """`target` if it is a local path on this site, else the home page (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("basecamp.page")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return url_for("basecamp.page")
    return target


def rotate_session() -> None:
    """Drop everything in the session and give it a fresh identity (the signed cookie changes entirely)."""
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)


def _sign_in(user: User) -> None:
    rotate_session()
    login_user(user)


@bp.get("/")
def home() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("basecamp.page"))
    return render_template("home.html")


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | str:
    form = SignUpForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        db = get_session()
        user = User(email=form.email.data.strip().lower())
        user.set_password(form.password.data)
        db.add(user)
        try:
            db.commit()
        except IntegrityError:
            db.rollback()
            form.email.errors.append("An account with this email exists; sign in instead.")
            return render_template("auth/signup.html", form=form), 409
        _sign_in(user)
        flash("Welcome! Your account is ready.")
        return redirect(safe_next(form.next.data))
    return render_template("auth/signup.html", form=form), 400 if form.is_submitted() else 200


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Response | str:
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        check_signin(email)  # 429 once this IP or account used up its failed attempts
        db = get_session()
        user = db.scalar(select(User).where(func.lower(User.email) == email))
        if user is not None and user.check_password(form.password.data):
            _sign_in(user)
            return redirect(safe_next(form.next.data))
        signin_failed(email)
        form.password.errors.append("Wrong email or password.")
        return render_template("auth/signin.html", form=form), 401
    return render_template("auth/signin.html", form=form), 400 if form.is_submitted() else 200


@bp.post("/signout")
@login_required
def signout() -> Response:
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.signin"))
