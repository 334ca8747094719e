"""The server-rendered pages: sign-in, the staff console, the managers' pages, user admin.

``install_pages`` adds them to the app: Jinja templates (with the GOV.UK Frontend macros of
``govuk-frontend-jinja``), the assets (see ``assets``), the sign-in machinery (see
``callguard.web.sessions``) and every page's route.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from callguard import wording
from callguard.phones import phone_as_written
from callguard.services.container import Services
from callguard.web.pages import (
    admin,
    admin_access,
    appeals,
    auth,
    call_log,
    console,
    demo,
    file_notes,
    manage,
    strategy_decisions,
    strategy_notice,
    subject_access,
)
from callguard.web.pages import register as register_pages
from callguard.web.pages import strategies as strategy_pages
from callguard.web.pages.assets import install_assets, load_assets
from callguard.web.pages.words import (
    call_state_in_words,
    call_status_in_words,
    outcome_in_words,
    rule_in_words,
)
from callguard.web.sessions import install_web_auth

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PAGE_MODULES = (
    auth,
    console,
    file_notes,
    demo,
    register_pages,
    strategy_pages,
    strategy_decisions,
    strategy_notice,
    call_log,
    manage,
    admin,
    admin_access,
    appeals,
    subject_access,
)


@jinja2.pass_context
def staff_name(context: jinja2.runtime.Context, user_name: str | None) -> str:
    """A member of staff by their full name (the page's ``staff_names``, which
    ``PageContext.render`` gives every page), else by their user name."""
    if not user_name:
        return ""
    names = context.get("staff_names") or {}
    return str(names.get(user_name) or user_name)


def _filters(tz: ZoneInfo) -> dict[str, object]:
    """The one date style of every page and letter (see ``callguard.wording``), and staff
    by their full names."""
    return {
        "staff": staff_name,
        **wording.date_filters(tz),
        "rule": rule_in_words,
        "outcome": outcome_in_words,
        "call_status": call_status_in_words,
        "call_state": call_state_in_words,
        "week": wording.week_beginning,
        "iso_week": wording.iso_week,
        "phone": phone_as_written,
    }


def install_pages(app: web.Application, services: Services) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(TEMPLATES),
                jinja2.PrefixLoader(
                    {"govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja")}
                ),
            ]
        ),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_filters(services.tz))
    install_assets(app, load_assets())
    install_web_auth(app, services)
    app.router.add_routes(auth.routes)
    for module in PAGE_MODULES:
        module.pages.install(app)
