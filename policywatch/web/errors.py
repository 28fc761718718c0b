"""Errors as pages with a way back, for people; the API and the feeds keep JSON, which their
clients parse.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from policywatch.web.templating import templates

MACHINE_PREFIXES = ("/api/", "/feeds/", "/static/")


TITLES = {401: "Token required", 404: "Not found", 422: "Not a valid request", 500: "Server error"}


SERVER_ERROR = (
    "Something went wrong on the server's side: this page could not be made. What, the output of "
    "policywatch serve says; the other pages may still work."
)


async def http_error_page(request: Request, error: Exception) -> Response:
    """A page's 404 (an old link from an alert, a mistyped address) as a page with a way back;
    the API and the feeds keep FastAPI's JSON, which their clients parse."""
    assert isinstance(error, StarletteHTTPException), "the handler of HTTP errors only"
    if request.url.path.startswith(MACHINE_PREFIXES):
        return await http_exception_handler(request, error)
    message = error.detail
    if error.status_code == 404 and message == "Not Found":  # no route: Starlette's own words
        message = "There is no page at this address."
    return error_page(request, error.status_code, message)


async def invalid_request_page(request: Request, error: Exception) -> Response:
    """A page's bad parameter (a filter typed by hand) as a page; JSON for the API and feeds."""
    assert isinstance(error, RequestValidationError), "the handler of invalid requests only"
    if request.url.path.startswith(MACHINE_PREFIXES):
        return await request_validation_exception_handler(request, error)
    return error_page(request, 422, _invalid(error))


async def server_error_page(request: Request, error: Exception) -> Response:
    """An unforeseen failure (a store gone, a bug) as a page with a way back, not a bare
    "Internal Server Error"; the API and the feeds answer in JSON, as for their other errors.
    The reason stays in the server's log: it may name the database and its address."""
    if request.url.path.startswith(MACHINE_PREFIXES):
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)
    return error_page(request, 500, SERVER_ERROR)


def error_page(request: Request, status: int, message: str) -> Response:
    """The error page: its reason in words, and links back to the timeline and documents."""
    context = {"status": status, "title": TITLES.get(status, f"Error {status}"), "message": message}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def _invalid(error: RequestValidationError) -> str:
    """`page: Input should be greater than or equal to 1`, one clause per bad parameter (the
    address's own, which names none, without a name)."""
    clauses = []
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"][1:])
        clauses.append(f"{name}: {problem['msg']}" if name else problem["msg"])
    return "; ".join(clauses)
