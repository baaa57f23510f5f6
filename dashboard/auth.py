"""Sign-in: server-side sessions, bearer API tokens, and the one guard for every data route.

The guard is default-deny: every endpoint not listed in ``PUBLIC_ENDPOINTS`` needs an
authenticated admin, so a route added later cannot forget it.

Sessions live in the store (``db.sessions``): the signed Flask cookie carries only a random
token (as Flask-Login's user id), each request looks its row up, and sign-out, a password
change or disabling the account deletes the row — on every worker and replica at once.
Sign-in attempts are limited in the store too (``db.sign_in_limits``), and every
security-relevant step is written to the audit log (``db.audit``).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from dashboard.context import (
    AppContext,
    get_context,
    record_audit,
    request_language,
    request_theme,
)
from dashboard.i18n import t
from db import audit
from db.accounts import TokenIdentity, check_credentials, hash_password, token_identity
from db.models import AdminUser
from db.security_retention import SecurityRetention, prune_security_records
from db.sessions import SessionPolicy, end_session, open_session, resolve_session
from db.sign_in_limits import (
    Attempt,
    Limit,
    Lockout,
    check_lockout,
    clear_failures,
    normalise_username,
    record_attempt,
)

log = logging.getLogger(__name__)

# Endpoints an anonymous visitor may reach: sign-in itself, health, static files.
# ``prometheus_metrics`` (PROMETHEUS_ENABLED) checks its own token or address allow-list.
PUBLIC_ENDPOINTS = frozenset(
    {"auth.login", "auth.logout", "healthz", "static", "prometheus_metrics"}
)
# Dash's JavaScript bundles, CSS and favicon carry no data (paths under the Dash base).
PUBLIC_DASH_PATHS = ("assets/", "_dash-component-suites/", "_favicon.ico")
# The TCP peer before ProxyFix replaced REMOTE_ADDR with the forwarded client address.
PEER_ENVIRON_KEY: Final = "admin_metrics.peer_address"
DEVICE_COOKIE: Final = "admin_metrics_device"
DEVICE_MAX_AGE: Final = 180 * 86400


def public_endpoints(app: Flask, dash_base: str) -> frozenset[str]:
    """``PUBLIC_ENDPOINTS`` plus Dash's static endpoints (named after their paths)."""
    dash_static = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if any(rule.rule.startswith(dash_base + p) for p in PUBLIC_DASH_PATHS)
    }
    return PUBLIC_ENDPOINTS | dash_static


class User(UserMixin):
    """The signed-in identity, detached from the database session.

    ``session_token`` is the random token of the server-side session (what Flask-Login
    keeps in the cookie); API-token users have none.
    """

    def __init__(
        self,
        row: AdminUser | TokenIdentity,
        *,
        session_token: str | None = None,
        method: str | None = None,
        via_token: bool = False,
    ) -> None:
        self.id = row.id
        self.username = row.username
        self.is_admin = bool(row.is_admin)
        self.active = bool(row.is_active)
        self.session_token = session_token
        self.method = method
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
        if not self.session_token:
            raise RuntimeError("only a server-side session can be kept in the cookie")
        return self.session_token


class LoginForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=150)])
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])


class SignOutForm(FlaskForm):
    """Only the CSRF token: sign-out is a POST no other site can make the browser send."""


bp = Blueprint("auth", __name__)


# --- addresses, proxies -------------------------------------------------------------------
def parse_networks(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def address_in(
    address: str | None, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TrustedProxyFix:
    """WSGI middleware: werkzeug's ``ProxyFix`` only for requests whose TCP peer is a
    trusted proxy (AUTH_PROXY_TRUSTED). From any other peer ``X-Forwarded-For`` is ignored,
    so a client cannot choose the address its sign-in attempts are counted under.

    The peer itself stays available under ``PEER_ENVIRON_KEY`` (the proxy sign-on trusts
    the peer, never a forwarded value).
    """

    def __init__(self, app: Any, trusted: Iterable[str], hops: int) -> None:
        self.app = app
        self.networks = parse_networks(trusted)
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops) if hops > 0 else None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR")
        environ[PEER_ENVIRON_KEY] = peer
        if self.fixed is not None and address_in(peer, self.networks):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def peer_address() -> str | None:
    """The TCP peer of this request (the proxy when there is one)."""
    value = request.environ.get(PEER_ENVIRON_KEY, request.remote_addr)
    return str(value) if value is not None else None


# --- helpers ------------------------------------------------------------------------------
def session_policy(ctx: AppContext) -> SessionPolicy:
    settings = ctx.settings
    return SessionPolicy.of(
        idle_minutes=settings.session_idle_minutes, max_hours=settings.session_max_hours
    )


def _limits(ctx: AppContext) -> tuple[Limit, Limit]:
    (n_user, w_user), (n_addr, w_addr) = ctx.settings.login_limit, ctx.settings.login_address_limit
    return Limit(n_user, timedelta(seconds=w_user)), Limit(n_addr, timedelta(seconds=w_addr))


def _store_failed(where: str, exc: SQLAlchemyError) -> None:
    """Remember for the guard that the store could not be asked (it answers 503)."""
    log.error("%s: store unavailable: %s", where, exc.__class__.__name__)
    g.store_unavailable = True


def store_unavailable() -> bool:
    return bool(g.get("store_unavailable", False))


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


# --- device cookie: a browser that signed in before is not locked out by others -----------
def _device_serializer() -> URLSafeTimedSerializer:
    from flask import current_app

    return URLSafeTimedSerializer(current_app.secret_key or "", salt="admin-metrics-device")


def _known_device(username: str) -> str | None:
    """The device id of this browser if it signed in successfully as ``username`` before."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 512:
        return None
    try:
        data = _device_serializer().loads(raw, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != normalise_username(username):
        return None
    device = data.get("d")
    return device if isinstance(device, str) and 0 < len(device) <= 64 else None


def _set_device_cookie(response: BaseResponse, username: str, device: str | None) -> None:
    value = _device_serializer().dumps(
        {"u": normalise_username(username), "d": device or secrets.token_hex(16)}
    )
    settings = get_context().settings
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_MAX_AGE,
        path=settings.url_prefix,
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite=settings.session_cookie_samesite,
    )


def _locked_response(lock: Lockout, now: datetime, lang: str) -> Response:
    zone = ZoneInfo(get_context().settings.default_timezone)
    seconds = lock.seconds_left(now)
    message = t("login.locked", lang).format(
        time=lock.announced.astimezone(zone).strftime("%H:%M:%S"), seconds=seconds
    )
    html, status = _render_login(LoginForm(), message, 429)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Retry-After"] = str(seconds)
    return response


def _prune(db: Session, ctx: AppContext, now: datetime) -> None:
    """Sign-in is rare and already writes: a good moment to drop what has expired, so the
    tables stay small even where the scheduler (and its retention job) is off."""
    prune_security_records(db, SecurityRetention.of(ctx.settings), now)


# --- views --------------------------------------------------------------------------------
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
    user_limit, address_limit = _limits(ctx)
    typed = form.username.data or ""
    attempt = Attempt.of(request.remote_addr, typed, _known_device(typed))
    now = datetime.now(UTC)
    # 1. Refused without checking the password while locked; otherwise counted as a
    #    failure *before* the (slow) check, so parallel guesses count too.
    with ctx.session() as db:
        lock = check_lockout(
            db, attempt, user_limit=user_limit, address_limit=address_limit, now=now
        )
        if lock is None:
            record_attempt(db, attempt, now)
    if lock is not None:
        log.warning(
            "Sign-in refused during a lockout (%s) for user %r from %s until %s",
            lock.scope,
            typed.strip(),
            request.remote_addr,
            lock.until.isoformat(timespec="seconds"),
        )
        return _locked_response(lock, now, lang)
    # 2. Check the password; success resets the counter and opens a server-side session.
    with ctx.session() as db:
        row, reason = check_credentials(db, typed, form.password.data or "")
        if row is None:
            details: dict[str, Any] = {"reason": reason, "user": typed.strip()[:150]}
            lock = check_lockout(
                db, attempt, user_limit=user_limit, address_limit=address_limit, now=now
            )
            if lock is not None:
                details |= {"locked_until": lock.until.isoformat(), "lock": lock.scope}
            record_audit(db, audit.SIGN_IN_FAILED, actor=typed.strip()[:150], details=details)
            user = None
        else:
            clear_failures(db, attempt)
            token = open_session(
                db,
                row.id,
                method="password",
                address=request.remote_addr,
                user_agent=request.user_agent.string,
                now=now,
            )
            record_audit(db, audit.SIGN_IN, actor=row.username, details={"method": "password"})
            user = User(row, session_token=token, method="password")
            _prune(db, ctx, now)
    if user is None:
        log.warning("Failed admin login for user %r from %s", typed, request.remote_addr)
        return _render_login(form, t("login.failed", lang), 401)
    _end_browser_session()
    login_user(user)
    log.info("Admin %r signed in from %s", user.username, request.remote_addr)
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie("lang", lang, samesite="Lax", max_age=365 * 86400)
    _set_device_cookie(response, user.username, attempt.device)
    return response


def _end_browser_session(action: str | None = None) -> None:
    """Delete this browser's server-side session (if any) and forget the cookie's content.

    ``action`` (sign-out, revoked) is written to the audit log when a session ended.
    """
    token = session.get("_user_id")
    if isinstance(token, str) and token:
        username = getattr(current_user, "username", None) if current_user else None
        with get_context().session() as db:
            ended = end_session(db, token)
            if ended and action is not None:
                record_audit(db, action, actor=username)
    logout_user()
    session.clear()


def _render_sign_out(form: SignOutForm, error: str | None, status: int = 200) -> Any:
    lang = request_language()
    html = render_template(
        "logout.html",
        form=form,
        error=error,
        lang=lang,
        t=lambda key: t(key, lang),
        action=get_context().url("logout"),
        back_url=get_context().url("admin/metrics/"),
    )
    return html, status


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    """GET shows a sign-out button (a link or an image elsewhere cannot sign anyone out);
    POST with the CSRF token ends the session in the store."""
    lang = request_language()
    signed_in = current_user.is_authenticated and not getattr(current_user, "via_token", False)
    if request.method == "GET":
        if not signed_in:
            return redirect(get_context().url("login"))
        return _render_sign_out(SignOutForm(), None)
    form = SignOutForm()
    if not form.validate_on_submit():
        log.warning("Sign-out without a valid CSRF token from %s refused", request.remote_addr)
        return _render_sign_out(form, t("login.csrf", lang), 400)
    if signed_in:
        log.info("Admin %r signed out", current_user.username)
    _end_browser_session(audit.SIGN_OUT)
    flash(t("login.logged_out", lang), "info")
    return redirect(get_context().url("login"))


# --- loading the user of a request ----------------------------------------------------------
def _load_user(token: str) -> User | None:
    """Flask-Login's user loader, keyed by the session token in the cookie."""
    ctx = get_context()
    try:
        with ctx.session() as db:
            found = resolve_session(db, token, session_policy(ctx))
            user = User(found[1], session_token=token, method=found[0].method) if found else None
    except SQLAlchemyError as exc:
        _store_failed("Session lookup", exc)
        return None
    if user is None:
        # Ended, expired or revoked: forget it, so later requests do not look it up again.
        session.pop("_user_id", None)
    return user


def _load_user_from_token() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 512:
        return None
    try:
        identity = token_identity(get_context().read_connection(), token.strip())
    except SQLAlchemyError as exc:
        _store_failed("API token lookup", exc)
        return None
    return User(identity, via_token=True) if identity is not None else None


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


def store_unavailable_response() -> Response:
    """503 while the store cannot be reached: JSON for the API and Dash's requests, the
    page's own failure message with a retry button for a page."""
    lang = request_language()
    if _wants_json(request.path):
        # Dash's requests carry the page's own message (assets/request_errors.js shows it).
        key = "dash.load_failed" if "/_dash-" in request.path else "api.store_unavailable"
        response = jsonify({"error": t(key, lang), "code": "STORE_UNAVAILABLE"})
        response.status_code = 503
    else:
        html = render_template(
            "unavailable.html", lang=lang, t=lambda key: t(key, lang), retry_url=request.full_path
        )
        response = Response(html, status=503, mimetype="text/html")
    response.headers["Retry-After"] = "10"
    response.headers["Cache-Control"] = "no-store"
    return response


def guard() -> Response | None:
    """``before_request``: every non-public endpoint needs an active admin."""
    if request.endpoint in get_context().public_endpoints:
        return None
    if request.endpoint is None and request.method == "OPTIONS":
        return None
    if not current_user.is_authenticated:
        if store_unavailable():
            return store_unavailable_response()
        if request.endpoint is not None and not _wants_json(request.path):
            target = get_context().url("login") + "?" + urlencode({"next": request.full_path})
            return redirect(target)  # type: ignore[return-value]
        return _deny(401)
    if not (current_user.is_active and getattr(current_user, "is_admin", False)):
        return _deny(403)
    return None


# --- trusted reverse-proxy sign-on (intranet portal SSO) --------------------------------
class ProxySignOn:
    """``before_request``: sign in the user named by AUTH_PROXY_HEADER, if it is trusted.

    The header is believed only when the TCP peer (the proxy itself, never an
    X-Forwarded-For value a client could forge) is in AUTH_PROXY_TRUSTED. From any other
    address it is ignored and logged. The named user must be an active admin, or is
    created as one when AUTH_PROXY_AUTO_CREATE is on. A sign-on opens a server-side
    session like a password sign-in does (so it can be listed and revoked).
    """

    MAX_NAME = 150
    ACTOR = "(proxy)"

    def __init__(self, header: str, trusted: list[str], auto_create: bool) -> None:
        self.header = header
        self.networks = parse_networks(trusted)
        self.auto_create = auto_create

    def is_trusted(self, address: str | None) -> bool:
        return address_in(address, self.networks)

    def __call__(self) -> Response | None:
        value = request.headers.get(self.header)
        if value is None:
            return None
        peer = peer_address()
        if not self.is_trusted(peer):
            log.warning("Ignored sign-on header %s from untrusted address %s", self.header, peer)
            return None
        username = value.strip()
        if not username or len(username) > self.MAX_NAME or not username.isprintable():
            log.warning("Ignored malformed sign-on header %s from proxy", self.header)
            return None
        if (
            current_user.is_authenticated
            and current_user.username == username
            and getattr(current_user, "session_token", None)
        ):
            return None
        if store_unavailable():
            return None  # the guard answers 503
        try:
            user = self._sign_on(username)
        except SQLAlchemyError as exc:
            _store_failed("Proxy sign-on", exc)
            return None
        if user is None:
            if current_user.is_authenticated:
                # Another person's session must not survive a proxy sign-on.
                _end_browser_session(audit.SESSION_REVOKED)
            if request.endpoint in get_context().public_endpoints:
                return None
            return _deny(403)
        if current_user.is_authenticated:
            _end_browser_session(audit.SESSION_REVOKED)
        login_user(user)
        log.info(
            "Admin %r signed in through the proxy from %s (client %s)",
            username,
            peer_address(),
            request.remote_addr,
        )
        return None

    def _sign_on(self, username: str) -> User | None:
        ctx = get_context()
        with ctx.session() as db:
            row = db.scalars(select(AdminUser).where(AdminUser.username == username)).first()
            if row is None and self.auto_create:
                row = self._create(db, username)
            if row is None or not row.is_active or not row.is_admin:
                log.warning("Proxy sign-on refused for %r: not an active admin", username)
                return None
            now = datetime.now(UTC)
            row.last_login_at = now
            token = open_session(
                db,
                row.id,
                method="proxy",
                address=request.remote_addr,
                user_agent=request.user_agent.string,
                now=now,
            )
            record_audit(db, audit.PROXY_SIGN_ON, actor=username, details={"proxy": peer_address()})
            return User(row, session_token=token, method="proxy")

    def _create(self, db: Session, username: str) -> AdminUser | None:
        # A random password nobody knows: the account signs in through the proxy only.
        row = AdminUser(username=username, password_hash=hash_password(secrets.token_urlsafe(32)))
        try:
            with db.begin_nested():
                db.add(row)
        except IntegrityError:  # created meanwhile by a concurrent request
            found: AdminUser | None = db.scalars(
                select(AdminUser).where(AdminUser.username == username)
            ).first()
            return found
        record_audit(
            db, audit.ADMIN_CREATED, actor=self.ACTOR, details={"user": username, "via": "proxy"}
        )
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
    settings = get_context(app).settings
    # Client addresses (limits, sessions, audit) come from X-Forwarded-For only through a
    # trusted proxy; every request gets its peer recorded for the proxy sign-on.
    app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, settings.auth_proxy_trusted, settings.proxy_fix_hops
    )
    manager = LoginManager()
    manager.init_app(app)
    manager.user_loader(_load_user)
    manager.request_loader(lambda _request: _load_user_from_token())
    # The server-side session records address and user agent; nothing to re-check here.
    manager.session_protection = None  # type: ignore[assignment]
    app.register_blueprint(bp, url_prefix=get_context(app).url().rstrip("/") or None)
    init_proxy_sign_on(app)  # before the guard: it may sign the request in
    app.before_request(guard)
