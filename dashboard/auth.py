"""Sign-in: Flask-Login sessions, bearer API tokens, and the one guard for every data route.

The guard is default-deny: every endpoint not listed in ``PUBLIC_ENDPOINTS`` needs an
authenticated admin, so a route added later cannot forget it.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_limiter import Limiter, RequestLimit
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from dashboard.context import get_context, request_language, request_theme
from dashboard.i18n import t
from db.accounts import authenticate, hash_password, hash_token
from db.models import AdminUser, ApiToken

log = logging.getLogger(__name__)

# Endpoints an anonymous visitor may reach: sign-in itself, health, static files.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.logout", "healthz", "static"})
# Dash's JavaScript bundles, CSS and favicon carry no data (paths under the Dash base).
PUBLIC_DASH_PATHS = ("assets/", "_dash-component-suites/", "_favicon.ico")


def public_endpoints(app: Flask, dash_base: str) -> frozenset[str]:
    """``PUBLIC_ENDPOINTS`` plus Dash's static endpoints (named after their paths)."""
    dash_static = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if any(rule.rule.startswith(dash_base + p) for p in PUBLIC_DASH_PATHS)
    }
    return PUBLIC_ENDPOINTS | dash_static


class User(UserMixin):
    """The signed-in identity, detached from the database session."""

    def __init__(self, row: AdminUser, *, via_token: bool = False) -> None:
        self.id = row.id
        self.username = row.username
        self.is_admin = bool(row.is_admin)
        self.active = bool(row.is_active)
        self.via_token = via_token

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        # The identity is proven even for a disabled account; the guard then answers 403
        # (UserMixin would tie this to is_active and turn the answer into 401).
        return True

    def get_id(self) -> str:
        return str(self.id)


class LoginForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=150)])
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])


bp = Blueprint("auth", __name__)
TOKEN_USE_PRECISION = timedelta(minutes=1)


def _safe_next(target: str | None) -> str:
    """Only local paths under our prefix: never redirect to another site."""
    home = get_context().url("admin/metrics/")
    if not target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(get_context().url()):
        return home
    return target


def _render_login(form: LoginForm, error: str | None, status: int = 200) -> tuple[str, int]:
    lang = request_language()
    other = "en" if lang == "ko" else "ko"
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = other
    html = render_template(
        "login.html",
        form=form,
        error=error,
        lang=lang,
        theme=request_theme(),
        t=lambda key: t(key, lang),
        action=get_context().url("login") + ("?lang=" + lang if "lang" in request.args else ""),
        next_url=_safe_next(request.values.get("next")),
        other_lang_url=get_context().url("login") + "?" + urlencode(args),
    )
    return html, status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    lang = request_language()
    if request.method == "GET":
        if current_user.is_authenticated and getattr(current_user, "is_admin", False):
            return redirect(_safe_next(request.args.get("next")))
        return _render_login(form, None)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            return _render_login(form, t("login.csrf", lang), 400)
        return _render_login(form, t("login.failed", lang), 400)
    ctx = get_context()
    with ctx.session() as session:
        row = authenticate(session, form.username.data or "", form.password.data or "")
        user = User(row) if row else None
    if user is None:
        log.warning(
            "Failed admin login for user %r from %s", form.username.data, request.remote_addr
        )
        return _render_login(form, t("login.failed", lang), 401)
    login_user(user)
    log.info("Admin %r signed in from %s", user.username, request.remote_addr)
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie("lang", lang, samesite="Lax", max_age=365 * 86400)
    return response


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        log.info("Admin %r signed out", current_user.username)
    logout_user()
    flash(t("login.logged_out", request_language()), "info")
    return redirect(get_context().url("login"))


def _load_user(user_id: str) -> User | None:
    ctx = get_context()
    with ctx.session() as session:
        row = session.get(AdminUser, int(user_id)) if user_id.isdigit() else None
        return User(row) if row and row.is_active else None


def _load_user_from_token() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    ctx = get_context()
    with ctx.session() as session:
        row = session.execute(
            select(ApiToken, AdminUser)
            .join(AdminUser, ApiToken.user_id == AdminUser.id)
            .where(ApiToken.token_hash == hash_token(token.strip()))
        ).first()
        if row is None:
            return None
        api_token, admin = row
        now = datetime.now(UTC)
        # A write per request would dominate a script's calls; minute precision is enough.
        if api_token.last_used_at is None or now - api_token.last_used_at > TOKEN_USE_PRECISION:
            api_token.last_used_at = now
        return User(admin, via_token=True)


def _wants_json(path: str) -> bool:
    prefix = get_context().settings.url_prefix
    return path.startswith(prefix + "api/") or "/_dash-" in path or request.is_json


def _deny(status: int) -> Response:
    lang = request_language()
    if status == 401:
        body = {"error": t("auth.required", lang), "code": "AUTH_REQUIRED"}
    else:
        body = {"error": t("auth.forbidden", lang), "code": "AUTH_FORBIDDEN"}
    response = jsonify(body)
    response.status_code = status
    if status == 401 and request.path.startswith(get_context().url("api/")):
        response.headers["WWW-Authenticate"] = 'Bearer realm="admin-metrics"'
    response.headers["Cache-Control"] = "no-store"
    return response


def guard() -> Response | None:
    """``before_request``: every non-public endpoint needs an active admin."""
    if request.endpoint in get_context().public_endpoints:
        return None
    if request.endpoint is None and request.method == "OPTIONS":
        return None
    if not current_user.is_authenticated:
        if request.endpoint is not None and not _wants_json(request.path):
            target = get_context().url("login") + "?" + urlencode({"next": request.full_path})
            return redirect(target)  # type: ignore[return-value]
        return _deny(401)
    if not (current_user.is_active and getattr(current_user, "is_admin", False)):
        return _deny(403)
    return None


# --- login rate limiting ----------------------------------------------------------------
def _login_rate_key() -> str:
    """Attempts are counted per client address *and* user name (case-insensitive)."""
    username = (request.form.get("username") or "").strip().lower()
    return f"{request.remote_addr}|{username}"


def _login_rate_limited(limit: RequestLimit) -> Response:
    log.warning(
        "Login rate limit (%s) reached for user %r from %s",
        limit.limit,
        (request.form.get("username") or "").strip(),
        request.remote_addr,
    )
    lang = request_language()
    html, status = _render_login(LoginForm(), t("login.rate_limited", lang), 429)
    response = Response(html, status=status, mimetype="text/html")
    reset = limit.window[0]  # when the window frees an attempt (epoch seconds)
    response.headers["Retry-After"] = str(max(1, math.ceil(reset - time.time())))
    return response


def init_rate_limit(app: Flask) -> Limiter:
    """LOGIN_RATE_LIMIT on failed sign-ins (POST /login), per address and user name.

    Counters live in the worker's memory: with N gunicorn workers an attacker gets at most
    N times the limit (the argon2 hash keeps each guess expensive anyway).
    """
    limiter = Limiter(
        _login_rate_key,
        app=app,
        storage_uri="memory://",
        default_limits=[],
        headers_enabled=False,
    )
    settings = get_context(app).settings
    limit = limiter.limit(
        settings.login_rate_limit,
        methods=["POST"],
        # A successful sign-in (redirect) does not use up an attempt.
        deduct_when=lambda response: response.status_code != 302,
        on_breach=_login_rate_limited,
    )
    # Wrapped per app (each app has its own counters), not on the shared blueprint.
    app.view_functions["auth.login"] = limit(login)
    return limiter


# --- trusted reverse-proxy sign-on (intranet portal SSO) --------------------------------
class ProxySignOn:
    """``before_request``: sign in the user named by AUTH_PROXY_HEADER, if it is trusted.

    The header is believed only when the TCP peer (``remote_addr``, i.e. the proxy itself,
    never an X-Forwarded-For value a client could forge) is in AUTH_PROXY_TRUSTED. From any
    other address it is ignored and logged. The named user must be an active admin, or is
    created as one when AUTH_PROXY_AUTO_CREATE is on.
    """

    MAX_NAME = 150

    def __init__(self, header: str, trusted: list[str], auto_create: bool) -> None:
        self.header = header
        self.networks = [ipaddress.ip_network(c, strict=False) for c in trusted]
        self.auto_create = auto_create

    def is_trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self) -> Response | None:
        value = request.headers.get(self.header)
        if value is None:
            return None
        if not self.is_trusted(request.remote_addr):
            log.warning(
                "Ignored sign-on header %s from untrusted address %s",
                self.header,
                request.remote_addr,
            )
            return None
        username = value.strip()
        if not username or len(username) > self.MAX_NAME or not username.isprintable():
            log.warning("Ignored malformed sign-on header %s from proxy", self.header)
            return None
        if current_user.is_authenticated and current_user.username == username:
            return None
        user = self._admin(username)
        if user is None:
            if current_user.is_authenticated:
                logout_user()  # another person's session must not survive a proxy sign-on
            if request.endpoint in get_context().public_endpoints:
                return None
            return _deny(403)
        login_user(user)
        log.info("Admin %r signed in through the proxy from %s", username, request.remote_addr)
        return None

    def _admin(self, username: str) -> User | None:
        ctx = get_context()
        with ctx.session() as session:
            row = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
            if row is None and self.auto_create:
                row = self._create(session, username)
            if row is None or not row.is_active or not row.is_admin:
                log.warning("Proxy sign-on refused for %r: not an active admin", username)
                return None
            row.last_login_at = datetime.now(UTC)
            return User(row)

    @staticmethod
    def _create(session: Any, username: str) -> AdminUser | None:
        # A random password nobody knows: the account signs in through the proxy only.
        row = AdminUser(username=username, password_hash=hash_password(secrets.token_urlsafe(32)))
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # created meanwhile by a concurrent request
            found: AdminUser | None = session.scalars(
                select(AdminUser).where(AdminUser.username == username)
            ).first()
            return found
        log.info("Created admin %r for proxy sign-on", username)
        return row


def init_proxy_sign_on(app: Flask) -> Callable[[], Response | None] | None:
    settings = get_context(app).settings
    if not settings.auth_proxy_header:
        return None
    if not settings.auth_proxy_trusted:
        log.warning(
            "AUTH_PROXY_HEADER is set but AUTH_PROXY_TRUSTED is empty: proxy sign-on is off"
        )
        return None
    hook = ProxySignOn(
        settings.auth_proxy_header, settings.auth_proxy_trusted, settings.auth_proxy_auto_create
    )
    app.before_request(hook)
    return hook


def init_auth(app: Flask) -> None:
    manager = LoginManager()
    manager.init_app(app)
    manager.user_loader(_load_user)
    manager.request_loader(lambda _request: _load_user_from_token())
    # The guard answers unauthenticated requests itself (JSON or redirect).
    manager.session_protection = "basic"
    app.register_blueprint(bp, url_prefix=get_context(app).url().rstrip("/") or None)
    init_rate_limit(app)
    init_proxy_sign_on(app)  # before the guard: it may sign the request in
    app.before_request(guard)
