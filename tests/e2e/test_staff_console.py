"""(a) A member of staff, in a real browser: a live call from a restricted caller appears
without a reload, with its alert; they play a warning, end the call with a reason, and
complete the file note."""

from __future__ import annotations

import secrets

from playwright.async_api import expect

from tests.e2e.conftest import App, Tab
from tests.e2e.support import FULL_NAME, MANAGER, PASSWORD, STAFF
from tests.helpers import inbound_call, new_call_sid, post_signed, services

CAL_RECORDED = "07700 900103"  # demo person under a "recorded" strategy


async def connect_call(app: App, caller: str) -> str:
    """What Twilio does for a call that connects: the signed voice webhook, then the
    signed conference callback as the caller joins."""
    call_sid = new_call_sid()
    response = await inbound_call(app.client, caller, call_sid)
    assert response.headers["X-CallGuard-Outcome"] == "connect"
    await services(app.client).background.drain()
    joined = await post_signed(
        app.client,
        f"/webhooks/twilio/conference?call_sid={call_sid}",
        [
            ("StatusCallbackEvent", "participant-join"),
            ("ConferenceSid", "CF" + secrets.token_hex(16)),
            ("CallSid", call_sid),
        ],
    )
    assert joined.status == 200
    return call_sid


async def test_staff_warn_end_and_complete_the_file_note(tab: Tab, app: App) -> None:
    page = tab.page
    await tab.sign_in(STAFF, PASSWORD)
    await expect(page.get_by_role("heading", name="Staff console")).to_be_visible()
    await expect(page.get_by_text("There are no live calls right now.")).to_be_visible()

    call_sid = await connect_call(app, CAL_RECORDED)
    card = page.locator(f"article[data-sid='{call_sid}']")
    await expect(card).to_be_visible()  # arrived by polling: the page was not reloaded
    await expect(page.get_by_text("There are no live calls right now.")).to_be_hidden()
    await expect(card.get_by_role("heading", name="Cal Recorded")).to_be_visible()
    await expect(card.get_by_text("Calls are recorded").first).to_be_visible()
    await expect(card.get_by_text("Contact strategy", exact=True)).to_be_visible()
    await tab.screenshot("console-live-call")

    await card.get_by_label("Reason for the warning").select_option(label="Verbal abuse")
    await card.get_by_role("button", name="Play warning").click()
    result = page.locator("#control-result")
    await expect(result).to_contain_text("Warning played to the caller (Verbal abuse")
    await expect(card).to_contain_text("Warnings in this call 1: verbal abuse")

    card = page.locator(f"article[data-sid='{call_sid}']")
    await card.get_by_label("Reason for ending the call").select_option(label="Verbal abuse")
    await card.get_by_role("button", name="End call").click()
    await expect(result).to_contain_text("Call ended (Verbal abuse)")
    await expect(result).to_contain_text(f"{FULL_NAME[MANAGER]} has been told")
    await expect(page.locator(f"article[data-sid='{call_sid}']")).to_have_count(0)

    await result.get_by_role("link", name="Complete the file note now").click()
    await expect(page.get_by_role("heading", name="Complete the file note")).to_be_visible()
    await page.get_by_label("What was said or done").fill(
        "The caller shouted abuse at me about the outcome of their complaint."
    )
    await page.get_by_role("button", name="Complete note").click()
    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_contain_text("Enter why the call was ended to complete the note")
    await expect(page.locator("#why_ended-error")).to_be_visible()
    await page.get_by_label("Why the call was ended").fill("The abuse went on after I warned them.")
    await page.get_by_label("Other actions taken").fill("None.")
    await page.get_by_label("I have told my line manager").check()
    await tab.screenshot("file-note")
    await page.get_by_role("button", name="Complete note").click()
    await expect(page.get_by_text("File note completed.")).to_be_visible()
    await expect(page.get_by_text("You have no file notes to complete.")).to_be_visible()
    record = await services(app.client).calls.get(call_sid)
    assert record is not None and record.ended is not None
    assert record.ended.reason == "verbal_abuse" and record.ended.by == STAFF
    note = await services(app.client).notes.store.get(record.file_note_id or "")
    assert note is not None and note.status == "completed"


async def test_the_demo_panel_simulates_a_call_and_the_caller_hangs_up(tab: Tab) -> None:
    page = tab.page
    await tab.sign_in(STAFF, PASSWORD)
    await page.get_by_label("The call comes from").select_option(
        label="Cal Recorded — +44*******103"
    )
    await page.get_by_role("button", name="Simulate an inbound call").click()
    await expect(page.get_by_text("Simulated call from +44*******103: connected")).to_be_visible()
    card = page.locator("article.cg-call")
    await expect(card).to_have_count(1)
    await tab.screenshot("console-demo")
    await card.get_by_role("button", name="Caller hangs up (demo)").click()
    await expect(page.get_by_text("The caller hung up (simulated).")).to_be_visible()
    await expect(page.locator("article.cg-call")).to_have_count(0)
