"""Pages of one's own account: sign in and out, password reset, language, profile, personal API tokens."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import (
    LoginInput,
    PasswordChange,
    PasswordResetConfirm,
    ProfileUpdate,
    TokenCreate,
)
from loopcrm.platform.errors import NotAuthenticated, RateLimited, ValidationFailed
from loopcrm.platform.i18n import LOCALE_NAMES, N_, supported_locale
from loopcrm.platform.mail import Mailer
from loopcrm.platform.permissions import TokenScope
from loopcrm.platform.web.cookies import (
    LOCALE_COOKIE,
    LOCALE_COOKIE_SECONDS,
    SESSION_COOKIE,
    delete_cookie,
    set_cookie,
)
from loopcrm.platform.web.cookies import set_session_cookie as remember_session
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, Visitor, redirect, render, safe_next, web_router
from loopcrm.platform.web.views.lookups import end_of_day, parse_day, role_names, teams, timezone_choices

public = web_router(public=True)
router = web_router()

LOGIN_FIELDS = ("email", "password")
RESET_REQUEST_FIELDS = ("email",)
RESET_FIELDS = ("new_password", "new_password_again")
PROFILE_FIELDS = ("name", "locale", "timezone")
PASSWORD_FIELDS = ("current_password", "new_password", "new_password_again")
TOKEN_FIELDS = ("name", "scope", "expires_on")

TOKEN_SCOPE_NAMES = {
    TokenScope.READ.value: N_("Read only"),
    TokenScope.READ_WRITE.value: N_("Read and write"),
}


def _password(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# ------------------------------------------------------------------ sign in and out


@public.get("/login")
def login_page(request: Request, page: Visitor, next: str | None = None) -> Response:
    if page.is_signed_in:
        return redirect(request, safe_next(next))
    return render(
        request,
        "account/login.html",
        {"form": FormState(fields=frozenset(LOGIN_FIELDS)), "next": safe_next(next, "")},
    )


@public.post("/login")
def login(request: Request, page: Visitor, form: Form) -> Response:
    state = FormState.submitted(form, LOGIN_FIELDS)
    next_path = safe_next(state.value("next"))
    context = {"form": state, "next": safe_next(state.value("next"), "")}
    try:
        credentials = LoginInput(email=state.text("email"), password=_password(form, "password"))
        signed_in = auth.sign_in(
            page.uow(), page.settings, credentials.email, credentials.password, page.origin
        )
    except (ValidationError, NotAuthenticated):
        # One answer for every failure: nobody learns which addresses have accounts.
        state.messages.append(page.gettext(N_("Wrong email or password")))
        return render(request, "account/login.html", context, status_code=401)
    except RateLimited as error:
        minutes = max(1, math.ceil(error.retry_after_seconds / 60))
        retry = page.translator.ngettext(
            "Try again in {count} minute.", "Try again in {count} minutes.", minutes
        )
        state.messages.append(f"{page.message(error.message)} {retry.format(count=minutes)}")
        return render(
            request,
            "account/login.html",
            context,
            status_code=429,
            headers={"Retry-After": str(error.retry_after_seconds)},
        )
    response = redirect(request, next_path)
    remember_session(request, response, signed_in.cookie_token, signed_in.expires_at)
    set_cookie(request, response, LOCALE_COOKIE, signed_in.locale, max_age=LOCALE_COOKIE_SECONDS)
    return response


@router.post("/logout")
def logout(request: Request, page: Viewer) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    auth.sign_out(page.uow(), token, page.origin)
    page.flash(N_("You have signed out."))
    response = redirect(request, "/login")
    delete_cookie(request, response, SESSION_COOKIE)
    return response


# ------------------------------------------------------------------ password reset


@public.get("/password-reset")
def password_reset_page(request: Request, page: Visitor) -> Response:
    return render(
        request,
        "account/password_reset_request.html",
        {"form": FormState(fields=frozenset(RESET_REQUEST_FIELDS)), "sent": False},
    )


@public.post("/password-reset")
def request_password_reset(request: Request, page: Visitor, form: Form) -> Response:
    state = FormState.submitted(form, RESET_REQUEST_FIELDS)
    email = state.text("email")
    if not email:
        state.add_error("email", page.gettext(N_("This field is required")))
        return render(
            request, "account/password_reset_request.html", {"form": state, "sent": False}, status_code=422
        )
    auth.request_password_reset(page.uow(), page.settings, Mailer(page.settings), email, page.origin)
    # The same answer whether or not the address has an account.
    return render(request, "account/password_reset_request.html", {"form": state, "sent": True})


@public.get("/password-reset/{token}")
def choose_password_page(request: Request, page: Visitor, token: str) -> Response:
    return render(
        request,
        "account/password_reset_confirm.html",
        {"form": FormState(fields=frozenset(RESET_FIELDS)), "token": token},
    )


@public.post("/password-reset/{token}")
def choose_password(request: Request, page: Visitor, token: str, form: Form) -> Response:
    state = FormState.submitted(form, RESET_FIELDS)
    new_password = _password(form, "new_password")
    context = {"form": state, "token": token}
    if new_password != _password(form, "new_password_again"):
        state.add_error("new_password_again", page.gettext(N_("The two passwords are not the same")))
    try:
        data = PasswordResetConfirm(token=token, new_password=new_password)
    except ValidationError as error:
        if any(issue["loc"][:1] == ("token",) for issue in error.errors()):
            state.messages.append(page.gettext(N_("The reset link is invalid or has expired")))
        state.add_validation_error(error, page.translator)
        return render(request, "account/password_reset_confirm.html", context, status_code=422)
    if state.has_errors:
        return render(request, "account/password_reset_confirm.html", context, status_code=422)
    try:
        auth.reset_password(page.uow(), data, page.origin)
    except ValidationFailed as error:
        state.add_domain_error(error, page.translator)
        return render(request, "account/password_reset_confirm.html", context, status_code=422)
    page.flash(N_("Your password has been changed. Sign in with the new password."))
    return redirect(request, "/login")


# ------------------------------------------------------------------ language


@public.post("/language")
def switch_language(request: Request, page: Visitor, form: Form) -> Response:
    """Switch the interface language: the profile's when signed in, and the browser's cookie."""
    chosen = form.get("locale")
    locale = supported_locale(chosen if isinstance(chosen, str) else None)
    next_value = form.get("next")
    response = redirect(request, safe_next(next_value if isinstance(next_value, str) else None))
    if locale is None:
        return response
    if page.session is not None:
        auth.update_profile(page.uow(), page.actor, ProfileUpdate.model_validate({"locale": locale}))
    set_cookie(request, response, LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_SECONDS)
    return response


# ------------------------------------------------------------------ profile


def _profile_page(
    request: Request,
    page: Viewer,
    profile_form: FormState | None = None,
    password_form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    profile = auth.get_profile(page.uow(), page.actor)
    if profile_form is None:
        profile_form = FormState.initial(profile.model_dump(include=set(PROFILE_FIELDS)), PROFILE_FIELDS)
    team_names = {team.id: team.name for team in teams(page)}
    return render(
        request,
        "account/profile.html",
        {
            "profile": profile,
            "role_name": role_names(page).get(profile.role, profile.role),
            "team_names": [team_names.get(team_id, team_id) for team_id in profile.team_ids],
            "form": profile_form,
            "password_form": password_form or FormState(fields=frozenset(PASSWORD_FIELDS)),
            "locale_choices": list(LOCALE_NAMES.items()),
            "timezone_groups": timezone_choices(page.locale),
        },
        status_code=status_code,
    )


@router.get("/profile")
def profile_page(request: Request, page: Viewer) -> Response:
    return _profile_page(request, page)


@router.post("/profile")
def update_profile(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, PROFILE_FIELDS)
    try:
        data = ProfileUpdate.model_validate(
            {"name": state.text("name"), "locale": state.text("locale"), "timezone": state.text("timezone")}
        )
        updated = auth.update_profile(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _profile_page(request, page, profile_form=state, status_code=422)
    page.flash(N_("Your profile has been saved."))
    response = redirect(request, "/profile")
    set_cookie(request, response, LOCALE_COOKIE, updated.locale, max_age=LOCALE_COOKIE_SECONDS)
    return response


@router.post("/profile/password")
def change_password(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, PASSWORD_FIELDS)
    new_password = _password(form, "new_password")
    if new_password != _password(form, "new_password_again"):
        state.add_error("new_password_again", page.gettext(N_("The two passwords are not the same")))
    try:
        data = PasswordChange(current_password=_password(form, "current_password"), new_password=new_password)
        if not state.has_errors:
            auth.change_password(page.uow(), page.actor, data)
    except ValidationError as error:
        state.add_validation_error(error, page.translator)
    except ValidationFailed as error:
        state.add_domain_error(error, page.translator)
    if state.has_errors:
        return _profile_page(request, page, password_form=state, status_code=422)
    page.flash(N_("Your password has been changed."))
    return redirect(request, "/profile")


# ------------------------------------------------------------------ personal API tokens


def _tokens_page(
    request: Request, page: Viewer, form: FormState | None = None, created: Any = None, status_code: int = 200
) -> Response:
    cursor = request.query_params.get("cursor")
    listed = auth.list_tokens(page.uow(), page.actor, limit=50, cursor=cursor, user_id=page.actor.user_id)
    return render(
        request,
        "account/tokens.html",
        {
            "tokens": listed.items,
            "next_cursor": listed.next_cursor,
            "form": form or FormState.initial({"scope": TokenScope.READ.value}, TOKEN_FIELDS),
            "created": created,
            "scope_choices": page.translator.choices(TOKEN_SCOPE_NAMES),
            "scope_names": TOKEN_SCOPE_NAMES,
        },
        status_code=status_code,
    )


@router.get("/tokens")
def tokens_page(request: Request, page: Viewer) -> Response:
    return _tokens_page(request, page)


@router.post("/tokens")
def create_token(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, TOKEN_FIELDS)
    expires_on = state.text("expires_on")
    day = parse_day(expires_on)
    if expires_on and day is None:
        state.add_error("expires_on", page.gettext(N_("Enter a valid date")))
        return _tokens_page(request, page, form=state, status_code=422)
    try:
        data = TokenCreate.model_validate(
            {
                "name": state.text("name"),
                "scope": state.text("scope") or TokenScope.READ.value,
                "expires_at": end_of_day(day, page.timezone) if day else None,
            }
        )
        created = auth.create_token(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _tokens_page(request, page, form=state, status_code=422)
    # The secret is shown on this answer only: it is never stored, so it cannot travel in a redirect.
    return _tokens_page(request, page, created=created, status_code=201)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, page: Viewer, token_id: str) -> Response:
    revoked = auth.revoke_token(page.uow(), page.actor, token_id)
    page.flash(N_("The token {name} has been revoked."), name=revoked.name)
    return redirect(request, "/tokens")
