"""The OpenAPI document, generated from the same declarations that validate requests."""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from callguard import __version__
from callguard.web.api import Endpoint

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


@functools.lru_cache(maxsize=4)
def openapi_document(endpoints: tuple[Endpoint, ...]) -> dict[str, Any]:
    """The document for these endpoints, made once for each set of them (a few tenths of a
    second: every app built with the same routes, as in the tests, shares it). Shared, so
    read only."""
    models: set[type[BaseModel]] = set()
    for e in endpoints:
        models.update(m for m in (e.body, e.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    modes: tuple[Literal["validation", "serialization"], ...] = ("validation", "serialization")
    schema_inputs = [(m, mode) for mode in modes for m in ordered]
    refs, defs = models_json_schema(schema_inputs, ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = dict(defs.get("$defs", {}))
    components["Error"] = _ERROR

    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "operationId": e.name,
            "summary": e.summary,
            "security": [{"bearer": []}],
            "x-callguard-role": e.role.value,
            "parameters": _path_parameters(e.path) + _query_parameters(e.query),
            "responses": _responses(e, refs),
        }
        if e.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
            }
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "CallGuard API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _responses(e: Endpoint, refs: dict[Any, Any]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "success"}
    if e.response is not None:
        ok["content"] = {e.content_type: {"schema": refs[(e.response, "serialization")]}}
    elif e.content_type != "application/json":
        ok["content"] = {e.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {
        str(e.status): ok,
        "401": _error("missing or unknown token"),
        "403": _error("the role may not do this"),
        "503": _error("the store is unavailable"),
    }
    if e.body is not None or e.query is not None:
        responses["422"] = _error("invalid input: each bad field and why")
    if e.body is not None:
        responses["400"] = _error("the body is not valid UTF-8")
    if "{" in e.path:
        responses["404"] = _error("unknown id")
    if e.method in ("POST", "PATCH", "PUT"):
        responses["409"] = _error("conflicts with the current state")
    return responses
