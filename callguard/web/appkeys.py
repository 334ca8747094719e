"""Typed application state keys."""

from __future__ import annotations

from aiohttp import web

from callguard.services.container import Services

SERVICES = web.AppKey("services", Services)
