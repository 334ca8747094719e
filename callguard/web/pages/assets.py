"""Every asset the pages use is served by CallGuard itself: no CDN, nothing vendored.

Our own CSS and JavaScript live in ``callguard/web/static``. GOV.UK Frontend comes from
the npm package ``govuk-frontend`` (``npm ci`` at the repository root puts it in
``node_modules``; the version is pinned in ``package-lock.json``). When it is not there,
the pages still work, styled by ``callguard.css`` alone, and the demo says how to get it.

CallGuard is not a GOV.UK service, so, as the Design System asks of services on other
domains, it uses neither the crown nor the GDS Transport font: the font-face rules are
taken out of the stylesheet as it is loaded (text falls back to Arial / sans-serif) and the
font files are not served.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

REPO_ROOT = Path(__file__).resolve().parents[3]
OWN_STATIC = Path(__file__).resolve().parents[1] / "static"
GOVUK_DIST = Path("node_modules") / "govuk-frontend" / "dist" / "govuk"

_FONT_FACE = re.compile(r"@font-face\{[^}]*\}")
_SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/|//# sourceMappingURL=\S+")


@dataclass(frozen=True)
class GovukFile:
    body: bytes
    content_type: str
    etag: str


@dataclass(frozen=True)
class Assets:
    """What the templates need to know about the assets."""

    govuk: bool
    govuk_version: str | None
    files: dict[str, GovukFile]
    own_version: str


ASSETS = web.AppKey("page_assets", Assets)


def find_govuk(explicit: Path | None = None) -> Path | None:
    """The ``dist/govuk`` folder of an installed govuk-frontend, if there is one."""
    candidates = [explicit] if explicit else [REPO_ROOT / GOVUK_DIST, Path.cwd() / GOVUK_DIST]
    for folder in candidates:
        if folder and (folder / "govuk-frontend.min.css").is_file():
            return folder
    return None


def _file(body: bytes, content_type: str) -> GovukFile:
    return GovukFile(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def load_assets(explicit: Path | None = None) -> Assets:
    own = hashlib.sha256()
    for path in sorted(OWN_STATIC.glob("*")):
        own.update(path.read_bytes())
    folder = find_govuk(explicit)
    if folder is None:
        return Assets(False, None, {}, own.hexdigest()[:12])
    css = (folder / "govuk-frontend.min.css").read_text(encoding="utf-8")
    css = _SOURCE_MAP.sub("", _FONT_FACE.sub("", css))
    js = _SOURCE_MAP.sub("", (folder / "govuk-frontend.min.js").read_text(encoding="utf-8"))
    version = None
    package = folder.parents[1] / "package.json"
    if package.is_file():
        version = str(json.loads(package.read_text(encoding="utf-8")).get("version"))
    files = {
        "govuk-frontend.min.css": _file(css.encode(), "text/css"),
        "govuk-frontend.min.js": _file(js.encode(), "text/javascript"),
    }
    return Assets(True, version, files, own.hexdigest()[:12])


def favicon_ico() -> bytes:
    """CallGuard's own small icon (16 by 16: a white telephone handset's outline on the
    GOV.UK blue), built here so the repository holds no binary and browsers get no 404."""
    size = 16
    blue, white = (0x1D, 0x70, 0xB8), (0xFF, 0xFF, 0xFF)
    shape = {
        (x, y)
        for y in range(size)
        for x in range(size)
        if (3 <= x <= 5 and 3 <= y <= 12)
        or (3 <= y <= 4 and 3 <= x <= 8)
        or (11 <= y <= 12 and 3 <= x <= 8)
    }
    rows = b""
    for y in reversed(range(size)):  # bitmaps run bottom to top
        for x in range(size):
            b, g, r = (white if (x, y) in shape else blue)[::-1]
            rows += bytes((b, g, r, 0xFF))
    mask = b"\x00" * (4 * size)  # the AND mask: 16 rows of 32 bits, all opaque
    header = struct.pack("<IiiHHIIiiII", 40, size, 2 * size, 1, 32, 0, 0, 0, 0, 0, 0)
    image = header + rows + mask
    directory = struct.pack("<HHH", 0, 1, 1) + struct.pack(
        "<BBBBHHII", size, size, 0, 0, 1, 32, len(image), 6 + 16
    )
    return directory + image


FAVICON = favicon_ico()


def install_assets(app: web.Application, assets: Assets) -> None:
    app[ASSETS] = assets

    async def favicon(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=FAVICON,
            content_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.router.add_get("/favicon.ico", favicon, name="favicon")

    async def govuk_file(request: web.Request) -> web.StreamResponse:
        found = assets.files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        headers = {"ETag": found.etag, "Cache-Control": "public, max-age=3600"}
        if request.headers.get("If-None-Match") == found.etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=found.body, content_type=found.content_type, headers=headers)

    app.router.add_get("/static/govuk/{name}", govuk_file, name="govuk-static")
    app.router.add_static("/static/callguard", OWN_STATIC, name="static", append_version=False)
