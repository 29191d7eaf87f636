"""Authentication: sign-in with lockout, browser sessions, API tokens, password resets, and
building the :class:`Actor` that every other service call receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.auth.models import ApiToken as ApiTokenRecord
from loopcrm.platform.auth.models import LoginAttempt, PasswordReset, Team, TeamMembership, User, WebSession
from loopcrm.platform.auth.passwords import digest, hash_password, needs_rehash, verify_password
from loopcrm.platform.auth.schemas import PasswordResetConfirm
from loopcrm.platform.auth.service.object_types import USER
from loopcrm.platform.db import new_token, utc_now
from loopcrm.platform.errors import NotAuthenticated, RateLimited, ValidationFailed
from loopcrm.platform.mail import Mailer, OutgoingEmail
from loopcrm.platform.permissions import Actor, SecurityLevel, TokenScope
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

# A token's last use is written at most this often, so reads through the API do not each write.
TOKEN_USE_RECORD_INTERVAL = timedelta(minutes=1)
PASSWORD_RESET_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class RequestOrigin:
    """Where a request came from, for the audit log and rate limits."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: the cookie value is shown only here."""

    user_id: str
    cookie_token: str
    csrf_token: str
    locale: str
    expires_at: datetime


@dataclass(frozen=True)
class BrowserSession:
    """A resolved browser session."""

    session_id: str
    actor: Actor
    csrf_token: str


def build_actor(
    session: Session,
    user: User,
    *,
    token_scope: TokenScope | None = None,
    origin: RequestOrigin | None = None,
) -> Actor:
    """Resolve a user's role, clearance and team reach once, for every check of one request."""
    origin = origin or RequestOrigin()
    member_of = set(session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)))
    parents: dict[str, str | None] = {
        row.id: row.parent_id for row in session.execute(select(Team.id, Team.parent_id))
    }
    managed = set(session.scalars(select(Team.id).where(Team.manager_id == user.id)))
    reachable = member_of | _with_descendants(managed, parents)
    team_user_ids: set[str] = set()
    if reachable:
        team_user_ids |= set(
            session.scalars(
                select(TeamMembership.user_id).where(TeamMembership.team_id.in_(sorted(reachable)))
            )
        )
        team_user_ids |= {
            manager_id
            for manager_id in session.scalars(select(Team.manager_id).where(Team.id.in_(sorted(reachable))))
            if manager_id
        }
    return Actor(
        user_id=user.id,
        label=user.email,
        display_name=user.name,
        role_key=user.role.key,
        grants=user.role.grants or {},
        clearance=SecurityLevel(user.role.clearance),
        team_ids=frozenset(reachable),
        team_user_ids=frozenset(team_user_ids),
        token_scope=token_scope,
        locale=user.locale,
        timezone=user.timezone,
        request_id=origin.request_id,
        ip=origin.ip,
    )


def actor_for_user(uow: UnitOfWork, user_id: str, origin: RequestOrigin | None = None) -> Actor:
    """The actor of an active user, for jobs and commands that act on a user's behalf."""
    with uow:
        user = uow.session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated("The user does not exist or is deactivated")
        return build_actor(uow.session, user, origin=origin)


def _with_descendants(team_ids: set[str], parents: dict[str, str | None]) -> set[str]:
    """The teams and every team below them in the hierarchy."""
    children: dict[str, list[str]] = {}
    for team_id, parent_id in parents.items():
        if parent_id:
            children.setdefault(parent_id, []).append(team_id)
    found, stack = set(), list(team_ids)
    while stack:
        team_id = stack.pop()
        if team_id not in found:
            found.add(team_id)
            stack.extend(children.get(team_id, []))
    return found


def _failure_actor(email: str, origin: RequestOrigin) -> Actor:
    return Actor(
        user_id=None,
        label=email[:320],
        role_key="anonymous",
        grants={},
        clearance=SecurityLevel.PUBLIC,
        request_id=origin.request_id,
        ip=origin.ip,
    )


def sign_in(
    uow: UnitOfWork, settings: Settings, email: str, password: str, origin: RequestOrigin
) -> SignedIn:
    """Check a password and open a browser session.

    An account locks for ``login_lockout_minutes`` after ``login_max_failures`` wrong passwords
    in a row; an IP that fails ``login_ip_max_failures`` times within that window is refused
    for every account. Wrong email and wrong password get the same answer and take as long.
    """
    email = email.strip().lower()
    now = utc_now()
    window = timedelta(minutes=settings.login_lockout_minutes)
    with uow:
        session = uow.session
        if origin.ip is not None:
            recent_failures = session.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(
                    LoginAttempt.ip == origin.ip,
                    LoginAttempt.at > now - window,
                    LoginAttempt.succeeded.is_(False),
                )
            )
            if (recent_failures or 0) >= settings.login_ip_max_failures:
                raise RateLimited(int(window.total_seconds()), "Too many failed sign-ins from your address")
        user = session.scalar(select(User).where(User.email == email))
        if user is not None and user.is_locked(now):
            retry_after = int((user.locked_until - now).total_seconds()) + 1 if user.locked_until else 60
            raise RateLimited(retry_after, "This account is locked after too many failed sign-ins")
        password_ok = verify_password(user.password_hash if user else None, password)
        succeeded = bool(password_ok and user is not None and user.is_active)
        session.add(LoginAttempt(email=email[:320], ip=origin.ip, at=now, succeeded=succeeded))
        if user is None or not password_ok or not user.is_active:
            if user is not None and not password_ok:
                failures = user.failed_login_count + 1
                locked_until = now + window if failures >= settings.login_max_failures else None
                session.execute(
                    update(User)
                    .where(User.id == user.id)
                    .values(failed_login_count=0 if locked_until else failures, locked_until=locked_until)
                )
            record_change(
                uow,
                _failure_actor(email, origin),
                AuditAction.LOGIN_FAILED,
                USER.key,
                user.id if user else None,
                {"email": email[:320]},
            )
            uow.commit()
            raise NotAuthenticated("Wrong email or password")
        values: dict[str, object] = {"failed_login_count": 0, "locked_until": None, "last_login_at": now}
        if user.password_hash and needs_rehash(user.password_hash):
            values["password_hash"] = hash_password(password)
        session.execute(update(User).where(User.id == user.id).values(**values))
        cookie_token, csrf_token = new_token(), new_token()
        expires_at = now + timedelta(hours=settings.session_lifetime_hours)
        session.add(
            WebSession(
                token_digest=digest(cookie_token),
                user_id=user.id,
                csrf_token=csrf_token,
                expires_at=expires_at,
                ip=origin.ip,
                user_agent=(origin.user_agent or "")[:400] or None,
            )
        )
        actor = build_actor(session, user, origin=origin)
        record_change(uow, actor, AuditAction.LOGIN, USER.key, user.id)
        uow.commit()
        return SignedIn(user.id, cookie_token, csrf_token, user.locale, expires_at)


def resolve_browser_session(
    uow: UnitOfWork, cookie_token: str, origin: RequestOrigin
) -> BrowserSession | None:
    """The signed-in session behind a cookie, or ``None`` when expired, unknown or deactivated."""
    with uow:
        row = uow.session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.token_digest == digest(cookie_token))
        ).first()
        if row is None:
            return None
        web_session, user = row
        if web_session.expires_at <= utc_now() or not user.is_active:
            return None
        return BrowserSession(
            web_session.id, build_actor(uow.session, user, origin=origin), web_session.csrf_token
        )


def sign_out(uow: UnitOfWork, cookie_token: str, origin: RequestOrigin) -> None:
    """End the browser session behind the cookie (other sessions of the user stay)."""
    with uow:
        web_session = uow.session.scalar(
            select(WebSession).where(WebSession.token_digest == digest(cookie_token))
        )
        if web_session is None:
            return
        user = uow.session.get(User, web_session.user_id)
        uow.session.delete(web_session)
        if user is not None:
            record_change(
                uow, build_actor(uow.session, user, origin=origin), AuditAction.LOGOUT, USER.key, user.id
            )
        uow.commit()


def authenticate_token(uow: UnitOfWork, bearer: str, origin: RequestOrigin) -> Actor:
    """The actor behind an API token; raises :class:`NotAuthenticated` for unknown, expired or
    revoked tokens and deactivated users."""
    now = utc_now()
    with uow:
        row = uow.session.execute(
            select(ApiTokenRecord, User)
            .join(User, User.id == ApiTokenRecord.user_id)
            .where(ApiTokenRecord.token_digest == digest(bearer))
        ).first()
        if row is None:
            raise NotAuthenticated("The API token is not valid")
        token, user = row
        if not token.is_usable(now) or not user.is_active:
            raise NotAuthenticated("The API token is expired, revoked or belongs to a deactivated user")
        if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RECORD_INTERVAL:
            uow.session.execute(
                update(ApiTokenRecord).where(ApiTokenRecord.id == token.id).values(last_used_at=now)
            )
            uow.commit()
        return build_actor(uow.session, user, token_scope=TokenScope(token.scope), origin=origin)


def request_password_reset(
    uow: UnitOfWork, settings: Settings, mailer: Mailer, email: str, origin: RequestOrigin
) -> None:
    """Email a single-use reset link if the address belongs to an active user.

    The caller always shows the same answer, so nobody learns which addresses have accounts.
    The email leaves only after the reset is committed.
    """
    email = email.strip().lower()
    with uow:
        user = uow.session.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
        if user is None:
            return
        token = new_token()
        uow.session.add(
            PasswordReset(
                user_id=user.id, token_digest=digest(token), expires_at=utc_now() + PASSWORD_RESET_LIFETIME
            )
        )
        link = f"{settings.base_url.rstrip('/')}/password-reset/{token}"
        outgoing = OutgoingEmail(
            to=user.email,
            subject="Reset your LoopCRM password / 重置 LoopCRM 密码",
            text=(
                f"Hello {user.name},\n\nOpen this link within one hour to choose a new password:\n{link}\n\n"
                f"请在一小时内打开以上链接设置新密码。\n\nIf you did not ask for this, ignore this email."
            ),
        )
        uow.after_commit(lambda: mailer.send(outgoing))
        uow.commit()


def reset_password(uow: UnitOfWork, data: PasswordResetConfirm, origin: RequestOrigin) -> None:
    """Set a new password from a reset link; the link works once and every session ends."""
    now = utc_now()
    with uow:
        reset = uow.session.scalar(
            select(PasswordReset).where(PasswordReset.token_digest == digest(data.token))
        )
        if reset is None or reset.used_at is not None or reset.expires_at <= now:
            raise ValidationFailed.single(
                "token", "The reset link is invalid or has expired", "invalid_token"
            )
        user = uow.session.get(User, reset.user_id)
        if user is None or not user.is_active:
            raise ValidationFailed.single(
                "token", "The reset link is invalid or has expired", "invalid_token"
            )
        reset.used_at = now
        uow.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(password_hash=hash_password(data.new_password), failed_login_count=0, locked_until=None)
        )
        uow.session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        actor = build_actor(uow.session, user, origin=origin)
        record_change(uow, actor, AuditAction.PASSWORD_RESET, USER.key, user.id)
        uow.commit()
