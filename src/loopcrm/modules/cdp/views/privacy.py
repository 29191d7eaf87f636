"""Pages of a profile's data: the computed-traits panel (an htmx fragment the profile page
includes through ``cdp/_profile_extras.html``), the data-subject export download and the
erasure confirmation page."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.cdp.computed import service as computed
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.privacy import service as privacy
from loopcrm.modules.cdp.privacy.models import ErasureReason
from loopcrm.modules.cdp.privacy.schemas import ErasureIn
from loopcrm.modules.cdp.views.sources import CHANNEL_NAMES
from loopcrm.platform.errors import Conflict, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, require
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()

ERASURE_FIELDS = ("reason", "reference", "confirmed")
# Reasons as the erasure page names them (English msgids).
REASON_NAMES: dict[str, str] = {
    ErasureReason.DATA_SUBJECT_REQUEST.value: N_("The person asked for erasure"),
    ErasureReason.CONSENT_WITHDRAWN.value: N_("The person withdrew consent"),
    ErasureReason.RETENTION_EXPIRED.value: N_("The retention period ended"),
    ErasureReason.LEGAL_ORDER.value: N_("A court or authority ordered it"),
}
# What each count of an erasure record stands for, as the result page names it.
COUNT_NAMES: dict[str, str] = {
    "profiles": N_("Profiles blanked"),
    "events": N_("Events deleted"),
    "unresolved_events": N_("Events not yet resolved, deleted"),
    "identity_links": N_("Identity link versions deleted"),
    "contact_links": N_("CRM contact link versions deleted"),
    "group_links": N_("Group membership versions deleted"),
    "match_pairs_deleted": N_("Undecided matching pairs deleted"),
    "match_pairs_blanked": N_("Decided matching pairs blanked"),
    "merges": N_("Merge records blanked"),
    "dead_letters": N_("Dead letters deleted"),
    "computed_days": N_("Daily event counts deleted"),
    "computed_activity": N_("Activity summaries deleted"),
    "computed_orders": N_("Orders deleted"),
}


@router.get("/cdp/profiles/{profile_id}/computed-traits")
def computed_traits_panel(request: Request, page: Viewer, profile_id: str) -> Response:
    """The computed traits of a profile with its export and erase buttons (an HTML fragment)."""
    actor = page.actor
    traits = computed.computed_traits(page.uow(), actor, profile_id)
    return render(
        request,
        "cdp/privacy_extras.html",
        {
            "profile_id": profile_id,
            "traits": traits,
            "channel_names": CHANNEL_NAMES,
            "is_erased": privacy.is_erased(page.uow(), actor, profile_id),
            "may_export": actor.can(privacy.PERSONAL_DATA.key, Action.READ),
            "may_erase": actor.can(privacy.PERSONAL_DATA.key, Action.DELETE),
        },
    )


@router.get("/cdp/profiles/{profile_id}/export")
def export_profile(page: Viewer, profile_id: str) -> Response:
    """The data-subject export as a JSON download."""
    export = privacy.export_profile(page.uow(), page.actor, profile_id)
    return Response(
        export.as_json_text(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name}"',
            "Cache-Control": "no-store",
        },
    )


def _erase_page(
    request: Request, page: WebPage, profile_id: str, form: FormState, status_code: int = 200
) -> Response:
    context: dict[str, Any] = {
        "profile_id": profile_id,
        "form": form,
        "reason_choices": [(key, page.gettext(name)) for key, name in REASON_NAMES.items()],
        "erasures": privacy.erasures_of(page.uow(), page.actor, profile_id),
        "reason_names": REASON_NAMES,
        "count_names": COUNT_NAMES,
    }
    return render(request, "cdp/privacy_erase.html", context, status_code=status_code)


@router.get("/cdp/profiles/{profile_id}/erase")
def erase_form(request: Request, page: Viewer, profile_id: str) -> Response:
    """The confirmation page of an erasure, or its record once done."""
    require(page.actor, privacy.PERSONAL_DATA.key, Action.DELETE)
    identity.get_profile(page.uow(), page.actor, profile_id)  # 404 for an unknown profile
    return _erase_page(request, page, profile_id, FormState(fields=frozenset(ERASURE_FIELDS)))


@router.post("/cdp/profiles/{profile_id}/erase")
def erase_profile(request: Request, page: Viewer, profile_id: str, form: Form) -> Response:
    state = FormState.submitted(form, ERASURE_FIELDS)
    try:
        if not state.checked("confirmed"):
            raise ValidationFailed.single(
                "confirmed", N_("Confirm that you understand the erasure cannot be undone.")
            )
        data = ErasureIn.model_validate(
            {"reason": state.text("reason"), "reference": state.optional("reference")}
        )
        privacy.erase_profile(page.uow(), page.actor, profile_id, data)
    except (ValidationError, ValidationFailed, Conflict) as error:
        state.add_refusal(error, page.translator)
        return _erase_page(
            request, page, profile_id, state, status_code=409 if isinstance(error, Conflict) else 422
        )
    page.flash(N_("The profile's personal data was erased."))
    return redirect(request, f"/cdp/profiles/{profile_id}/erase")
