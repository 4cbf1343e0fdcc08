"""The Starlette application of ``batchbald label``.

Routes (every one behind the token, see :class:`TokenMiddleware`):

- ``GET /`` the page (the token is written into it for the API calls);
- ``GET /static/app.js``, ``GET /static/app.css`` the page's script and style
  (a fixed list: no path from the request reaches the file system);
- ``GET /api/state`` what the page shows;
- ``POST /api/label`` ``{"item": int, "label": str}``, ``POST /api/skip``
  ``{"item": int}``, ``POST /api/undo`` ``{}``: each answers only after the
  label file was written and ``fsync`` ed, with the new state;
- ``GET /image/{n}`` the n-th image of the folder (an integer, never a path;
  the file must still resolve inside the folder).
"""

from __future__ import annotations

import json
import secrets
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from starlette.routing import Route

from ..tables import LabelFileChanged

__all__ = ["COOKIE", "HEADER", "TokenMiddleware", "create_app"]

#: Cookie set on the first visit with the token (HttpOnly, SameSite=Strict).
COOKIE = "batchbald_token"
#: Header the page sends the token in.
HEADER = "x-batchbald-token"
_SAFE_METHODS = ("GET", "HEAD")
_STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; "
    "style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
}


def _matches(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(
        given.encode("utf-8", "replace"), token.encode()
    )


class TokenMiddleware:
    """ASGI middleware: 403 unless the request carries the session's token.

    The token may come as ``?token=`` in the URL or in the ``X-Batchbald-Token``
    header; the cookie set by a visit with the token also admits ``GET`` and
    ``HEAD`` requests (images, a reload), never a request that changes a file.
    """

    def __init__(self, app, token: str):
        if not token:
            raise ValueError("the token must not be empty.")
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        by_url = _matches(request.query_params.get("token"), self.token)
        by_header = _matches(request.headers.get(HEADER), self.token)
        by_cookie = _matches(request.cookies.get(COOKIE), self.token)
        if not (by_url or by_header or (by_cookie and request.method in _SAFE_METHODS)):
            response = PlainTextResponse(
                "403 Forbidden: open the URL that batchbald label printed (it "
                "carries the session's token).",
                status_code=403,
                headers=_SECURITY_HEADERS,
            )
            return await response(scope, receive, send)
        if not by_url or by_cookie:
            return await self.app(scope, receive, send)
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_with_cookie)


def _static_text(name: str) -> str:
    static = resources.files(__package__).joinpath("static")
    return static.joinpath(name).read_text("utf-8")


async def _body(request: Request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("the request body must be JSON.") from None
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object.")
    return body


class _Endpoints:
    """The routes' handlers, bound to one session."""

    def __init__(self, session, token: str):
        self.session = session
        self.page = _static_text("index.html").replace("__BATCHBALD_TOKEN__", token)
        self.static = {name: _static_text(name) for name in _STATIC}

    async def index(self, request: Request) -> Response:
        return HTMLResponse(self.page, headers=_SECURITY_HEADERS)

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.static:
            return PlainTextResponse("404 Not Found", 404)
        return Response(
            self.static[name], media_type=_STATIC[name], headers=_SECURITY_HEADERS
        )

    async def state(self, request: Request) -> Response:
        state = await run_in_threadpool(self.session.state)
        return JSONResponse(state, headers=_SECURITY_HEADERS)

    async def _act(self, request: Request, what: str) -> Response:
        session = self.session
        try:
            body = await _body(request)
            if what == "label":
                result = await run_in_threadpool(
                    session.label, body.get("item"), body.get("label")
                )
            elif what == "skip":
                result = await run_in_threadpool(session.skip, body.get("item"))
            else:
                result = await run_in_threadpool(session.undo)
        except LabelFileChanged as exc:
            return JSONResponse({"error": str(exc)}, 409, headers=_SECURITY_HEADERS)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400, headers=_SECURITY_HEADERS)
        except OSError as exc:  # disk full, permissions: nothing was saved
            return JSONResponse(
                {"error": f"could not save: {exc}"}, 500, headers=_SECURITY_HEADERS
            )
        return JSONResponse({"saved": True, **result}, headers=_SECURITY_HEADERS)

    async def label(self, request: Request) -> Response:
        return await self._act(request, "label")

    async def skip(self, request: Request) -> Response:
        return await self._act(request, "skip")

    async def undo(self, request: Request) -> Response:
        return await self._act(request, "undo")

    async def image(self, request: Request) -> Response:
        source = self.session.source
        index = request.path_params["index"]
        path = source.image_path(index) if source.kind == "images" else None
        if path is None:
            return PlainTextResponse("404 Not Found", 404)
        headers = {**_SECURITY_HEADERS, "Cache-Control": "private, max-age=600"}
        return FileResponse(path, media_type=source.media_type(index), headers=headers)


def create_app(session, token: str) -> Starlette:
    """The application serving ``session`` (a :class:`LabelingSession`),
    guarded by ``token``."""
    ep = _Endpoints(session, token)
    routes = [
        Route("/", ep.index, methods=["GET"]),
        Route("/static/{name:str}", ep.asset, methods=["GET"]),
        Route("/api/state", ep.state, methods=["GET"]),
        Route("/api/label", ep.label, methods=["POST"]),
        Route("/api/skip", ep.skip, methods=["POST"]),
        Route("/api/undo", ep.undo, methods=["POST"]),
        Route("/image/{index:int}", ep.image, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(TokenMiddleware, token=token)
    return app
