"""Every asset is served by CallGuard itself: GOV.UK Frontend from node_modules (without
its crown font, which is for GOV.UK only), our own CSS and JS, nothing from a CDN; and the
pages still work with plain styles when GOV.UK Frontend is not installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from callguard.web.pages import assets
from tests.e2e.support import (
    STAFF,
    fast_passwords,
    give_passwords,
    page_client,
    sign_in,
)

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

TEMPLATES = Path(assets.__file__).resolve().parents[1] / "templates"
STATIC = assets.OWN_STATIC


def test_no_template_or_script_loads_anything_from_another_site() -> None:
    for path in [*TEMPLATES.glob("*.html"), *STATIC.glob("*")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path
        assert "@import url(http" not in text, path


def test_the_govuk_stylesheet_is_served_without_the_gds_transport_font() -> None:
    loaded = assets.load_assets()
    if not loaded.govuk:
        pytest.skip("GOV.UK Frontend is not installed (npm ci)")
    css = loaded.files["govuk-frontend.min.css"].body.decode()
    assert "@font-face" not in css
    assert "sourceMappingURL" not in css


async def test_assets_are_served_with_their_types(
    settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    async with page_client(settings, policy, clock) as client:
        own = await client.get("/static/callguard/console.js")
        assert own.status == 200 and "javascript" in own.headers["Content-Type"]
        css = await client.get("/static/callguard/callguard.css")
        assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
        if assets.load_assets().govuk:
            govuk = await client.get("/static/govuk/govuk-frontend.min.js")
            assert govuk.status == 200 and "javascript" in govuk.headers["Content-Type"]
            again = await client.get(
                "/static/govuk/govuk-frontend.min.js",
                headers={"If-None-Match": govuk.headers["ETag"]},
            )
            assert again.status == 304
        assert (await client.get("/static/govuk/anything-else.js")).status == 404


async def test_without_govuk_frontend_the_pages_use_plain_styles(
    settings: Settings, policy: Policy, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets, "find_govuk", lambda explicit=None: None)
    assert settings.redis_url
    await give_passwords(settings.redis_url)
    async with page_client(settings, policy, clock) as client:
        await sign_in(client, STAFF)
        page = await (await client.get("/console")).text()
        assert "/static/callguard/fallback.css" in page
        assert "/static/govuk/" not in page
        assert "run <code>npm ci</code>" in page
        assert (await client.get("/static/callguard/fallback.css")).status == 200
