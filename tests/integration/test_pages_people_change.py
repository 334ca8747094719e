"""The "Change their details" page without a browser: errors in words beside their fields,
a change that would break an active strategy refused in words, nothing stored."""

from __future__ import annotations

import re

import pytest

from callguard.clock import FixedClock
from callguard.domain.models import PersonPatch
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.services import people
from tests.e2e.support import STAFF, Client, fast_passwords, sign_in
from tests.helpers import services
from tests.integration.test_pages_register import (
    bad,
    check_words,
    error_beside,
    person_id,
    post_form,
)

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]


async def shown_as(client: Client, path: str) -> dict[str, str]:
    """The form's hidden record of the details it shows, as a browser sends it back."""
    page = await (await client.get(path)).text()
    found = re.search(r'name="read_as" value="([0-9a-f]+)"', page)
    assert found, "no read_as on the form"
    return {"read_as": found.group(1)}


async def test_bad_changes_say_what_is_wrong_in_words_and_change_nothing(manager: Client) -> None:
    pid = await person_id(manager, "Dee Written")
    path = f"/people/{pid}/change"
    page = await (await manager.get(path)).text()
    assert "Change their details" in page and "+447700900104" in page
    shown = await shown_as(manager, path)
    wrong = await bad(manager, path, {**shown, "name": " ", "phones": "12ab"})
    assert "Enter the person's name" in wrong
    assert "The first phone number: enter a phone number, like 07700 900 982" in wrong
    taken = await bad(
        manager, path, {**shown, "name": "Dee Written", "phones": "07700 900101"}, status=409
    )
    assert "07700 900101 is already held by another person" in taken
    # Dee's strategy is written contact only, without an adjustment override.
    response = await post_form(
        manager,
        path,
        {
            **shown,
            "name": "Dee Written",
            "phones": "07700 900104",
            "reasonable_adjustments": "needs_phone_contact",
            "reasonable_adjustments-needs_phone_contact-detail": "Cannot read letters",
        },
    )
    assert response.status == 422
    beside = error_beside(await response.text(), "reasonable_adjustments")
    assert "allows written contact only" in beside and "change the strategy first" in beside
    check_words([*wrong, *taken, beside])
    kept = await services(manager).register.store.get_person(pid)
    assert kept is not None and kept.reasonable_adjustments == []
    assert kept.phones == ["+447700900104"]


async def test_a_change_is_saved_and_the_person_page_links_to_it(manager: Client) -> None:
    pid = await person_id(manager, "Cal Recorded")
    person_page = await (await manager.get(f"/people/{pid}")).text()
    assert f"/people/{pid}/change" in person_page
    path = f"/people/{pid}/change"
    saved = await post_form(
        manager,
        path,
        {
            **await shown_as(manager, path),
            "name": "Cal Recorded",
            "phones": "07700 900103\n(01772) 533 587",
            "emails": "",
        },
    )
    assert saved.status == 303
    kept = await services(manager).register.store.get_person(pid)
    assert kept is not None and kept.phones == ["+447700900103", "+441772533587"]


async def test_staff_may_not_change_a_person(manager: Client) -> None:
    pid = await person_id(manager, "Cal Recorded")
    await manager.post("/sign-out", data={}, allow_redirects=False)
    manager.session.cookie_jar.clear()
    await sign_in(manager, STAFF)
    response = await manager.get(f"/people/{pid}/change", allow_redirects=False)
    assert response.status == 403


async def test_a_change_to_details_someone_else_changed_meanwhile_is_not_saved(
    manager: Client, clock: FixedClock
) -> None:
    """The form sends back every detail, changed or not: made to details someone else has
    changed since it was shown, it would put back what they replaced. It is refused in
    words instead, and shows the details as they are now, for the change to be made again."""
    pid = await person_id(manager, "Cal Recorded")
    path = f"/people/{pid}/change"
    shown = await shown_as(manager, path)
    # Meanwhile, another manager adds an email address.
    other = Actor(name="other.manager", role=Role.manager)
    patch = PersonPatch.model_validate({"emails": ["cal@example.org"]})
    await people.update_person(services(manager).register, pid, patch, other, clock.now())
    form = {**shown, "name": "Cal Recorded Jr", "phones": "07700 900103", "emails": ""}
    refused = await post_form(manager, path, form)
    assert refused.status == 409
    html = await refused.text()
    beside = error_beside(html, "read_as")
    assert "Someone else changed this person’s details while you were changing them" in beside
    assert 'href="#read_as"' in html and 'id="read_as"' in html
    assert "cal@example.org" in html  # the form shows their details as they are now
    kept = await services(manager).register.store.get_person(pid)
    assert kept is not None and (kept.name, kept.emails) == ("Cal Recorded", ["cal@example.org"])
    # A form shown before it held what it showed (opened before an upgrade) is not checked.
    unchecked = {**form, "read_as": "", "emails": "cal@example.org"}
    assert (await post_form(manager, path, unchecked)).status == 303
    again = await post_form(manager, path, {**form, **await shown_as(manager, path)})
    assert again.status == 303
    saved = await services(manager).register.store.get_person(pid)
    assert saved is not None and (saved.name, saved.emails) == ("Cal Recorded Jr", [])
