"""Access (the ``admin`` role): every API token, with its user, when it was made and last
used, and a link to revoke it (after asking); and disabling or enabling a user. Each change goes
through ``services.accounts`` (audited; a disabled user's sessions end at once)."""

from __future__ import annotations

from aiohttp import web

from callguard.domain.roles import Role
from callguard.services.accounts import AccountProblem
from callguard.services.errors import NotFound
from callguard.web.pages.framework import PageContext, Pages

pages = Pages()
NO_SUCH_TOKEN = "There is no such token. It may have been revoked already."  # noqa: S105


@pages.get("/admin/tokens", name="admin-tokens", role=Role.admin)
async def tokens_list(context: PageContext) -> web.StreamResponse:
    services = context.services
    tokens = await services.accounts.list_tokens()
    disabled = {u.name for u in await services.users.list_users() if u.disabled}
    return await context.render(
        "admin_tokens.html",
        {"title": "API tokens", "tokens": tokens, "disabled": disabled},
    )


@pages.get("/admin/tokens/{token_id}/revoke", name="admin-token-revoke", role=Role.admin)
async def token_revoke_form(context: PageContext) -> web.StreamResponse:
    """Asks before a token is revoked: it cannot be undone, and whatever uses it stops."""
    token_id = context.request.match_info["token_id"]
    found = [t for t in await context.services.accounts.list_tokens() if t.id == token_id]
    if not found:
        raise NotFound(NO_SUCH_TOKEN)
    return await context.render(
        "admin_token_revoke.html", {"title": "Revoke an API token", "token": found[0]}
    )


@pages.post("/admin/tokens/{token_id}/revoke", name="admin-token-revoke-post", role=Role.admin)
async def token_revoke(context: PageContext) -> web.StreamResponse:
    token_id = context.request.match_info["token_id"]
    try:
        revoked = await context.services.accounts.revoke_token(
            token_id, context.services.clock.now(), by=context.actor
        )
    except AccountProblem:  # revoked already (a second press, or another admin)
        return await context.redirect(
            context.url("admin-tokens"), error="That token had already been revoked"
        )
    return await context.redirect(
        context.url("admin-tokens"), f"Token {revoked.id} of {revoked.user} revoked."
    )


async def _set_disabled(context: PageContext, disabled: bool) -> web.StreamResponse:
    name = context.request.match_info["name"]
    if await context.services.users.get_user(name) is None:
        raise NotFound(f"no user {name[:64]}")
    back = context.url("admin-user", name=name)
    try:
        await context.services.accounts.set_disabled(
            name, disabled, context.services.clock.now(), by=context.actor
        )
    except AccountProblem as refused:
        return await context.redirect(back, error=refused.message)
    if disabled:
        said = f"{name} is disabled: signed out everywhere, and their API tokens refused."
    else:
        said = f"{name} can sign in again."
    return await context.redirect(back, said)


@pages.post("/admin/users/{name}/disable", name="admin-user-disable", role=Role.admin)
async def user_disable(context: PageContext) -> web.StreamResponse:
    return await _set_disabled(context, True)


@pages.post("/admin/users/{name}/enable", name="admin-user-enable", role=Role.admin)
async def user_enable(context: PageContext) -> web.StreamResponse:
    return await _set_disabled(context, False)
