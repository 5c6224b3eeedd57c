"""GET /jobs as IBM pages it: `limit` and `offset` (skip), `count`, and filters the gateway's
own listing has (backend, tags, session, creation dates) or that are checked here (pending,
program). Walked from the newest job by the gateway's cursor, at most MAX_WALK jobs deep."""

from __future__ import annotations

from typing import Any

from app.facade.views import job_view, program_of
from app.gateway import Gateway
from core.states import JobStatus
from core.store import listing

MAX_WALK = 2000  # jobs examined for one page at most (offset paging over a cursor)
PAGE = 100


def list_jobs(gw: Gateway, tenant: str, args: dict[str, Any]) -> dict[str, Any]:
    limit, offset = args["limit"], args["offset"]
    wanted = _wanted(args)
    filters = {"backend": args.get("backend"), "tags": args.get("tags"),
               "session_id": args.get("session_id"),
               "created_after": _micros(args.get("created_after")),
               "created_before": _micros(args.get("created_before"))}
    matched: list[dict[str, Any]] = []
    cursor, walked = None, 0
    while walked < MAX_WALK and len(matched) <= offset + limit:
        found, cursor = listing.list_jobs(gw.store, tenant, filters, cursor, PAGE)
        walked += len(found)
        matched += [job for job in found if wanted(job)]
        if cursor is None:
            break
    page = matched[offset:offset + limit]
    more = cursor is not None or len(matched) > offset + limit
    if args.get("sort") == "ASC":
        page.reverse()  # oldest first within the window walked (IBM: over all jobs)
    return {"jobs": [job_view(job) for job in page], "limit": limit, "offset": offset,
            "count": offset + len(page) + (1 if more else 0)}


def _wanted(args: dict[str, Any]) -> Any:
    pending, program = args.get("pending"), args.get("program")

    def wanted(job: dict[str, Any]) -> bool:
        if pending is not None and JobStatus(job["status"]).final == pending:
            return False
        return not program or program_of(job) == program

    return wanted


def _micros(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1_000_000)
