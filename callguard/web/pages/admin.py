"""User administration (the ``admin`` role): accounts, roles, line managers, passwords and
lock-outs. An admin sees no personal data about callers: only these pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.passwords import password_problem
from callguard.services.accounts import LINE_MANAGER_ROLES, AccountProblem
from callguard.services.errors import NotFound
from callguard.web.pages.forms import FormErrors, place, problems_of
from callguard.web.pages.framework import PageContext, Pages
from callguard.web.sessions import web_auth

pages = Pages()

USER_IDS = ("name", "display_name", "email", "role", "line_manager", "password")
USER_LABELS = {
    "name": "User name",
    "display_name": "Full name",
    "email": "Email",
    "role": "Role",
    "line_manager": "Line manager",
    "password": "Password",
}
ROLE_LABELS = {
    Role.staff.value: "Staff: live call controls, own file notes",
    Role.manager.value: "Manager: people, strategies, call log, all file notes",
    Role.chief_executive.value: "Chief executive: as manager, plus no-response restrictions",
    Role.admin.value: "Admin: users only, no personal data",
}


async def _users_page(
    context: PageContext,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> web.Response:
    services = context.services
    users = await services.users.list_users()
    now = services.clock.now()
    throttle = web_auth(context.request).throttle
    rows = [
        {
            "user": u,
            "has_password": await services.users.has_password(u.name),
            "locked_s": await throttle.locked_for_s(u.name, now),
        }
        for u in users
    ]
    return await context.render(
        "admin_users.html",
        {
            "title": "Users",
            "rows": rows,
            "left_out": len(users.left_out),
            "values": values or {"role": "staff"},
            "errors": errors,
            "page_errors": bool(errors),
            "roles": list(ROLE_LABELS.items()),
            "managers": _managers(users),
        },
        status=status,
    )


@pages.get("/admin/users", name="admin-users", role=Role.admin)
async def users_list(context: PageContext) -> web.StreamResponse:
    return await _users_page(context)


def _user_fields(context: PageContext) -> dict[str, Any]:
    return {
        "display_name": context.text("display_name"),
        "email": context.text("email") or None,
        "role": context.text("role"),
        "line_manager": context.text("line_manager") or None,
    }


STAFF_NEED_A_LINE_MANAGER = (
    "Choose a line manager: staff need one, as their line manager is told when they end a "
    "call (§6.5). Add the manager's account first if it is not in the list"
)


async def _line_manager_problems(
    context: PageContext, name: str | None, user_name: str, *, needed: bool = False
) -> list[tuple[str, str]]:
    """``needed``: for a staff account."""
    if not name:
        return [("line_manager", STAFF_NEED_A_LINE_MANAGER)] if needed else []
    refused = await context.services.accounts.line_manager_refused(name, user_name)
    return [("line_manager", refused.message)] if refused else []


def _managers(users: Sequence[User], but: str = "") -> list[tuple[str, str]]:
    """Who may be chosen as a line manager: enabled, in a role that manages staff."""
    return [
        (u.name, u.name)
        for u in users
        if u.role in LINE_MANAGER_ROLES and not u.disabled and u.name != but
    ]


@pages.post("/admin/users", name="admin-user-create", role=Role.admin)
async def user_create(context: PageContext) -> web.StreamResponse:
    services = context.services
    values = {name: context.form.get(name, "") for name in USER_IDS if name != "password"}
    raw = {"name": context.text("name"), **_user_fields(context)}
    problems: list[tuple[str, str]] = []
    user: User | None = None
    try:
        user = User.model_validate(raw)
    except ValidationError as error:
        problems += problems_of(error, form="user")
    password = context.form.get("password", "")
    problems += await _line_manager_problems(
        context, raw["line_manager"], raw["name"], needed=raw["role"] == Role.staff.value
    )
    errors = place(problems, USER_IDS, labels=USER_LABELS, form="user")
    password_refused = password_problem(password, raw["name"])
    if password_refused:
        errors.add("password", password_refused)
    if errors or user is None:
        return await _users_page(context, values, errors, 422)
    try:
        await services.accounts.create_user(
            user.name,
            user.role,
            password,
            services.clock.now(),
            display_name=user.display_name,
            email=user.email,
            line_manager=user.line_manager,
            by=context.actor,
        )
    except AccountProblem as refused:
        errors.add(refused.field if refused.field in USER_IDS else "name", refused.message)
        return await _users_page(context, values, errors, 422)
    return await context.redirect(context.url("admin-users"), f"User {user.name} created.")


@pages.get("/admin/users/{name}", name="admin-user", role=Role.admin)
async def user_page(context: PageContext) -> web.StreamResponse:
    user = await _user(context)
    return await _user_page(context, user, None, None)


async def _user(context: PageContext) -> User:
    name = context.request.match_info["name"]
    user = await context.services.users.get_user(name)
    if user is None:
        raise NotFound(f"no user {name}")
    return user


async def _user_page(
    context: PageContext,
    user: User,
    values: dict[str, Any] | None,
    errors: FormErrors | None,
    status: int = 200,
) -> web.Response:
    users = await context.services.users.list_users()
    now = context.services.clock.now()
    return await context.render(
        "admin_user.html",
        {
            "title": f"User {user.name}",
            "user": user,
            "values": values
            or {
                "display_name": user.display_name,
                "email": user.email or "",
                "role": user.role.value,
                "line_manager": user.line_manager or "",
            },
            "errors": errors,
            "page_errors": bool(errors),
            "roles": list(ROLE_LABELS.items()),
            "managers": _managers(users, but=user.name),
            "locked_s": await web_auth(context.request).throttle.locked_for_s(user.name, now),
        },
        status=status,
    )


@pages.post("/admin/users/{name}", name="admin-user-save", role=Role.admin)
async def user_save(context: PageContext) -> web.StreamResponse:
    services = context.services
    user = await _user(context)
    values = {name: context.form.get(name, "") for name in USER_IDS if name != "password"}
    problems: list[tuple[str, str]] = []
    updated: User | None = None
    try:
        updated = User.model_validate({"name": user.name, **_user_fields(context)})
    except ValidationError as error:
        problems += problems_of(error, form="user")
    if updated is not None:
        refused = await services.accounts.role_change_refused(user, updated.role)
        if refused is not None:
            problems.append((refused.field or "role", refused.message))
    problems += await _line_manager_problems(
        context,
        values.get("line_manager") or None,
        user.name,
        needed=values.get("role") == Role.staff.value,
    )
    if problems or updated is None:
        errors = place(problems, USER_IDS, labels=USER_LABELS, form="user")
        return await _user_page(context, user, values, errors, 422)
    try:
        ended = await services.accounts.update_user(updated, services.clock.now(), by=context.actor)
    except AccountProblem as refused:
        errors = FormErrors()
        errors.add(refused.field if refused.field in USER_IDS else "role", refused.message)
        return await _user_page(context, user, values, errors, 422)
    signed_out = " They were signed out everywhere." if ended else ""
    return await context.redirect(
        context.url("admin-users"), f"User {user.name} saved.{signed_out}"
    )


@pages.post("/admin/users/{name}/password", name="admin-user-password", role=Role.admin)
async def user_password(context: PageContext) -> web.StreamResponse:
    user = await _user(context)
    password = context.form.get("password", "")
    try:
        await context.services.accounts.set_password(
            user.name, password, context.services.clock.now(), by=context.actor
        )
    except AccountProblem as refused:
        errors = FormErrors()
        errors.add("password", refused.message)
        return await _user_page(context, user, None, errors, 422)
    return await context.redirect(
        context.url("admin-user", name=user.name),
        f"New password set for {user.name}. Any sessions of theirs have ended.",
    )


@pages.post("/admin/users/{name}/unlock", name="admin-user-unlock", role=Role.admin)
async def user_unlock(context: PageContext) -> web.StreamResponse:
    user = await _user(context)
    await web_auth(context.request).throttle.clear(user.name)
    await context.services.accounts.unlocked(
        user.name, context.services.clock.now(), by=context.actor
    )
    return await context.redirect(
        context.url("admin-user", name=user.name), f"{user.name} can sign in again."
    )
