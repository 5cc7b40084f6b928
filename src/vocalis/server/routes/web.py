"""The web page: `GET /` and its assets under `/web/`, package data served as they are.

Plain HTML, CSS and JavaScript modules in `vocalis/web/`: no build step, no CDN, so the
page works offline. The page holds no secret, so it is served without a key; what it
calls is guarded like any other client's requests.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)
# No long caching: an upgraded server must not run yesterday's scripts.
NO_STALE = {"Cache-Control": "no-cache"}


@router.get("/", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    html = (resources.files("vocalis") / "web" / "index.html").read_text("utf-8")
    return HTMLResponse(html, headers=NO_STALE)


def assets() -> StaticFiles:
    return StaticFiles(packages=[("vocalis", "web")])
