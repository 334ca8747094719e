"""The one place that wires CallGuard together: the core app plus the Twilio edge.

``webhooks`` imports ``callguard``; within ``callguard`` only this module (and the CLI,
through it) imports ``webhooks``, as the composition root. A test enforces this.
"""

from __future__ import annotations

from aiohttp import web

import webhooks
from callguard.clock import Clock
from callguard.demo_phone import DemoPhoneSystem
from callguard.policy import Policy
from callguard.settings import Settings
from callguard.store import keys
from callguard.web.app import Installer, init_app


def build_app(
    settings: Settings,
    *,
    policy: Policy | None = None,
    clock: Clock | None = None,
    demo: bool = False,
) -> web.Application:
    def install_twilio_edge(app: web.Application) -> None:
        webhooks.install(app, settings)

    # The key prefix is process-wide: the app uses the one its settings name.
    keys.use_prefix(settings.redis_key_prefix)
    installers: list[Installer] = [install_twilio_edge]
    if demo:
        installers.append(DemoPhoneSystem().install)
    return init_app(settings, policy=policy, clock=clock, installers=installers)
