"""Signing in to the pages: argon2 passwords, server-side sessions, cookie flags, CSRF,
lock-out, roles, sign-out and the single-sign-on proxy mode."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.policy import Policy
from callguard.settings import Settings
from callguard.store.connection import connect
from tests.conftest import KEYS
from tests.e2e.support import (
    ADMIN,
    FULL_NAME,
    MANAGER,
    PASSWORD,
    STAFF,
    Client,
    csrf_of,
    fast_passwords,
    give_passwords,
    page_client,
    page_csrf,
    sign_in,
)
from tests.helpers import services
from tests.integration.test_pages_register import error_beside

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]


@pytest.fixture
async def pages(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    assert settings.redis_url
    await give_passwords(settings.redis_url)
    async with page_client(settings, policy, clock) as client:
        yield client


async def test_signed_out_visitors_are_sent_to_sign_in(pages: Client) -> None:
    response = await pages.get("/console", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] in ("/sign-in?next=/console", "/sign-in?next=%2Fconsole")


async def test_staff_sign_in_to_the_console_with_a_strict_httponly_secure_cookie(
    pages: Client,
) -> None:
    response = await sign_in(pages, STAFF)
    assert response.status == 303
    assert response.headers["Location"] == "/console"
    cookie = response.cookies["callguard_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["secure"] is True  # the public URL is https
    console = await pages.get("/console")
    assert console.status == 200
    assert "Live calls" in await console.text()
    assert console.headers["Cache-Control"] == "no-store"


async def test_the_session_lives_in_redis_under_a_hash_of_the_cookie(
    pages: Client, settings: Settings
) -> None:
    response = await sign_in(pages, STAFF)
    session_id = response.cookies["callguard_session"].value
    client = connect(settings.redis_url or "")
    stored = [k async for k in client.scan_iter(KEYS.session("*"))]
    await client.aclose()
    assert len(stored) == 1
    assert session_id not in stored[0]


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    pages: Client,
) -> None:
    wrong = await sign_in(pages, STAFF, "not the password at all")
    unknown = await sign_in(pages, "nobody", "not the password at all")
    assert wrong.status == unknown.status == 401
    assert "The user name or password is not right" in await wrong.text()
    assert "The user name or password is not right" in await unknown.text()
    assert "callguard_session" not in wrong.cookies


async def test_five_failures_in_15_minutes_lock_the_account_even_for_the_right_password(
    pages: Client, clock: FixedClock
) -> None:
    from datetime import timedelta

    for _ in range(5):
        assert (await sign_in(pages, STAFF, "wrong password 123")).status == 401
    locked = await sign_in(pages, STAFF, PASSWORD)
    assert locked.status == 429
    assert "locked" in await locked.text()
    clock.advance(timedelta(minutes=15, seconds=1))
    assert (await sign_in(pages, STAFF, PASSWORD)).status == 303


async def test_an_admin_can_unlock_a_locked_account(pages: Client) -> None:
    for _ in range(5):
        await sign_in(pages, STAFF, "wrong password 123")
    await sign_in(pages, ADMIN)
    token = await page_csrf(pages, f"/admin/users/{STAFF}")
    unlocked = await pages.post(
        f"/admin/users/{STAFF}/unlock", data={"csrf_token": token}, allow_redirects=False
    )
    assert unlocked.status == 303
    pages.session.cookie_jar.clear()
    assert (await sign_in(pages, STAFF)).status == 303


async def test_unlocking_an_account_is_audited(pages: Client) -> None:
    """Lifting a lock-out is a security decision: who lifted it, for whom and when."""
    for _ in range(5):
        await sign_in(pages, STAFF, "wrong password 123")
    await sign_in(pages, ADMIN)
    token = await page_csrf(pages, f"/admin/users/{STAFF}")
    unlocked = await pages.post(
        f"/admin/users/{STAFF}/unlock", data={"csrf_token": token}, allow_redirects=False
    )
    assert unlocked.status == 303
    latest = (await services(pages).register.store.audit_log(1))[0]
    assert (latest["who"], latest["action"], latest["target"]) == (ADMIN, "user.unlock", STAFF)


async def test_the_sign_in_form_without_its_token_is_refused(pages: Client) -> None:
    await pages.get("/sign-in")
    response = await pages.post(
        "/sign-in", data={"username": STAFF, "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    assert "callguard_session" not in response.cookies


async def test_a_signed_in_form_post_without_the_csrf_token_is_403_and_changes_nothing(
    pages: Client,
) -> None:
    await sign_in(pages, MANAGER)
    before = await pages.get("/people")
    response = await pages.post(
        "/people/new", data={"name": "Nobody", "phones": "07700 900555"}, allow_redirects=False
    )
    assert response.status == 403
    assert "security token" in await response.text()
    wrong = await pages.post(
        "/people/new",
        data={"name": "Nobody", "phones": "07700 900555", "csrf_token": "forged"},
        allow_redirects=False,
    )
    assert wrong.status == 403
    after = await pages.get("/people")
    assert "Nobody" not in await after.text()
    assert before.status == 200


async def test_staff_opening_a_manager_page_get_403(pages: Client) -> None:
    await sign_in(pages, STAFF)
    for path in ("/manage", "/people", "/calls", "/calls.csv", "/preview", "/admin/users"):
        response = await pages.get(path)
        assert response.status == 403, path
        html = await response.text()
        assert "You do not have access" in html
        # The error pages name the signed-in person as every other page does.
        assert f"Signed in as <strong>{FULL_NAME[STAFF]}</strong>" in html, path


async def test_an_admin_sees_users_and_no_personal_data(pages: Client) -> None:
    await sign_in(pages, ADMIN)
    assert (await pages.get("/admin/users")).status == 200
    for path in ("/console", "/people", "/calls", "/manage"):
        assert (await pages.get(path)).status == 403, path


async def test_an_admin_creates_a_user_with_a_line_manager_who_can_then_sign_in(
    pages: Client,
) -> None:
    await sign_in(pages, ADMIN)
    token = await page_csrf(pages, "/admin/users")
    short = await pages.post(
        "/admin/users",
        data={"csrf_token": token, "name": "kim", "role": "staff", "password": "short"},
    )
    assert short.status == 422
    assert "at least 12 characters" in await short.text()
    # Staff need a line manager: told when they end a call (§6.5).
    assert "Choose a line manager: staff need one" in error_beside(
        await short.text(), "line_manager"
    )
    created = await pages.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "name": "kim",
            "display_name": "Kim Staff",
            "role": "staff",
            "line_manager": MANAGER,
            "password": "a long enough password",
        },
        allow_redirects=False,
    )
    assert created.status == 303
    # Nor may a staff account's line manager be taken away.
    cleared = await pages.post(
        "/admin/users/kim",
        data={"csrf_token": token, "display_name": "Kim Staff", "role": "staff"},
    )
    assert cleared.status == 422
    assert "staff need one" in error_beside(await cleared.text(), "line_manager")
    pages.session.cookie_jar.clear()
    assert (await sign_in(pages, "kim", "a long enough password")).status == 303


async def test_sign_out_ends_the_session(pages: Client) -> None:
    await sign_in(pages, STAFF)
    token = await page_csrf(pages, "/console")
    out = await pages.post("/sign-out", data={"csrf_token": token}, allow_redirects=False)
    assert out.status == 303
    again = await pages.get("/console", allow_redirects=False)
    assert again.status == 303


async def test_next_never_leaves_the_site(pages: Client) -> None:
    page = await pages.get("/sign-in?next=//evil.example/")
    token = csrf_of(await page.text())
    response = await pages.post(
        "/sign-in",
        data={
            "username": STAFF,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/console"


async def test_single_sign_on_header_is_trusted_only_from_the_configured_proxies(
    settings: Settings, policy: Policy, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.redis_url
    await give_passwords(settings.redis_url)
    # As CALLGUARD_SSO_HEADER and CALLGUARD_SSO_TRUSTED_PROXIES=127.0.0.0/8 would set them.
    monkeypatch.setenv("CALLGUARD_SSO_TRUSTED_PROXIES", "127.0.0.0/8")
    assert Settings().sso_trusted_proxies == [ipaddress.ip_network("127.0.0.0/8")]
    behind_proxy = settings.model_copy(
        update={
            "sso_header": "X-Forwarded-User",
            "sso_trusted_proxies": [ipaddress.ip_network("127.0.0.0/8")],
        }
    )
    async with page_client(behind_proxy, policy, clock) as client:
        response = await client.get("/manage", headers={"X-Forwarded-User": MANAGER})
        assert response.status == 200
        assert "Overview" in await response.text()
        # The session is bound to the name: another name is another session.
        staff = await client.get("/manage", headers={"X-Forwarded-User": STAFF})
        assert staff.status == 403
        unknown = await client.get(
            "/console", headers={"X-Forwarded-User": "stranger"}, allow_redirects=False
        )
        assert unknown.status == 303
    elsewhere = behind_proxy.model_copy(
        update={"sso_trusted_proxies": [ipaddress.ip_network("10.9.9.9")]}
    )
    async with page_client(elsewhere, policy, clock) as client:
        spoofed = await client.get(
            "/manage", headers={"X-Forwarded-User": MANAGER}, allow_redirects=False
        )
        assert spoofed.status == 303  # not from the proxy: the header is ignored
        assert spoofed.headers["Location"].startswith("/sign-in")


async def test_a_change_of_role_applies_at_the_next_request(pages: Client) -> None:
    await sign_in(pages, MANAGER)
    assert (await pages.get("/manage")).status == 200
    users = services(pages).users
    manager = await users.get_user(MANAGER)
    assert manager is not None
    await users.put_user(manager.model_copy(update={"role": Role.staff}))
    assert (await pages.get("/manage")).status == 403
    assert (await pages.get("/console")).status == 200


async def test_signing_out_says_so(pages: Client) -> None:
    await sign_in(pages, STAFF)
    token = await page_csrf(pages, "/console")
    out = await pages.post("/sign-out", data={"csrf_token": token})
    assert out.status == 200 and out.url.path == "/sign-in"
    assert "You have signed out." in await out.text()
    assert "You have signed out." not in await (await pages.get("/sign-in")).text()


async def test_an_unknown_page_is_a_page_not_found_page_and_the_api_stays_json(
    pages: Client,
) -> None:
    await sign_in(pages, MANAGER)
    for path in ("/breaches", "/no/such/page"):
        response = await pages.get(path, headers={"Accept": "text/html"})
        assert response.status == 404
        assert response.content_type == "text/html"
        html = await response.text()
        assert '<h1 class="govuk-heading-l">Page not found</h1>' in html
        assert 'href="/people"' in html  # the site's layout, with its navigation
        assert f"Signed in as <strong>{FULL_NAME[MANAGER]}</strong>" in html
    api = await pages.get("/api/v1/no-such-thing")
    assert api.status == 404 and api.content_type == "application/json"
    signed_out = await pages.get("/favicon.ico")
    assert signed_out.status == 200 and signed_out.content_type == "image/x-icon"
    body = await signed_out.read()
    assert body[:4] == b"\x00\x00\x01\x00" and len(body) < 4096
