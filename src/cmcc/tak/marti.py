"""The Marti app of the TAK HTTPS port (8443, mutual TLS): the sync endpoints ATAK, iTAK and
WinTAK use to upload, list and download data packages, as TAK Server, FreeTAKServer and taky
answer them, and the version endpoints clients ask first.

- `POST /Marti/sync/missionupload?hash=&filename=&creatorUid=`: a mission package (multipart
  `assetfile`); answers its download URL.
- `GET /Marti/sync/missionquery?hash=`: its download URL, or 404.
- `POST /Marti/sync/upload?name=&keywords=&creatorUid=&tool=`: any file (the raw body);
  answers its metadata (JSON).
- `GET /Marti/sync/content?hash=`: the file.
- `GET /Marti/sync/search?keywords=&tool=`: `{"resultCount", "results": [...]}`.
- `PUT /Marti/api/sync/metadata/{hash}/tool`: body `public` or `private`.
- `GET /Marti/api/version`, `GET /Marti/api/version/config`: the server's name and version.

The caller is the device of its client certificate (`cmcc.tak.peer`); a `creatorUid` that
names another device is refused. Everything a device reads goes through the release policy of
its organization (`cmcc.tak.packages`): a hidden package answers exactly as a missing one. A
body larger than `tak_package_max_bytes` is refused with 413 while it is read."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncGenerator, Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from cmcc import __version__
from cmcc.api import errors
from cmcc.bootstrap import Platform
from cmcc.core.errors import DomainError, NotFound
from cmcc.tak import groups, packages
from cmcc.tak.https import Served, serve
from cmcc.tak.package_checks import PackageTooLarge, refused
from cmcc.tak.package_models import TakDataPackage
from cmcc.tak.peer import Caller, DeviceCaller
from cmcc.tak.tls import ServerTls, server_tls

log = logging.getLogger("cmcc.tak")
SERVER = f"CMCC-{__version__}"
MULTIPART_SLACK = 65_536  # a multipart body's boundaries and headers, past the file itself

router = APIRouter()


def create_app(platform: Platform, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The Marti app for `cmcc.tak.https.serve` on the 8443 port's ServerTls (client
    certificates required). `routers` are further Marti routes served beside these (the
    groups of `cmcc.tak.groups`); their routes take the caller as `cmcc.tak.peer.DeviceCaller`."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="CMCC Marti")
    app.state.platform = platform
    errors.install(app)
    app.include_router(router)
    for extra in routers:
        app.include_router(extra)
    return app


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _url(request: Request, hash_: str) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}/Marti/sync/content?hash={quote(hash_)}"


def _check_creator(caller: Caller, creator_uid: str | None) -> None:
    if creator_uid and creator_uid != caller.device.uid:
        raise refused(
            "creatorUid", f"{creator_uid[:200]!r} is not the device of this client certificate"
        )


async def _chunks(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The body, refused with 413 as soon as it passes `limit` (or declares more)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PackageTooLarge(f"the body declares {declared} bytes; the most is {limit}")
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise PackageTooLarge(f"the body is larger than {limit} bytes")
        yield chunk


async def _body(request: Request, limit: int) -> bytes:
    return b"".join([chunk async for chunk in _chunks(request, limit)])


def _result(package: TakDataPackage, key: int) -> dict[str, Any]:
    """A package as TAK Server's sync search lists it."""
    return {
        "UID": package.hash,
        "Name": package.name,
        "Hash": package.hash,
        "PrimaryKey": key,  # the place in this answer: row ids would count others' packages
        "SubmissionDateTime": _time(package.created_at),
        "SubmissionUser": package.creator_uid,
        "CreatorUid": package.creator_uid,
        "Keywords": ",".join(package.keyword_list),
        "MIMEType": package.mime_type,
        "Size": package.size,
        "Tool": package.tool,
    }


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---- upload ---------------------------------------------------------------------------------


@router.post("/Marti/sync/missionupload", response_class=PlainTextResponse)
async def mission_upload(
    request: Request,
    caller: DeviceCaller,
    hash: Annotated[str, Query(max_length=200)],
    filename: Annotated[str | None, Query(max_length=255)] = None,
    creator_uid: Annotated[str | None, Query(alias="creatorUid", max_length=200)] = None,
) -> str:
    _check_creator(caller, creator_uid)
    platform = _platform(request)
    limit = platform.settings.tak_package_max_bytes
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise refused("content-type", "send the mission package as multipart/form-data")
    parser = MultiPartParser(
        request.headers,
        _chunks(request, limit + MULTIPART_SLACK),
        max_files=1,
        max_fields=16,
        max_part_size=1024,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise refused("body", f"not a readable multipart body ({exc.message})") from None
    asset = form.get("assetfile")
    if not isinstance(asset, UploadFile):
        raise refused("assetfile", "send the mission package in the part named assetfile")
    try:
        data = await asset.read(limit + 1)
        name = asset.filename or filename or ""
        declared = asset.content_type
    finally:
        await form.close()
    if filename and not asset.filename:
        name = filename
    if name and not name.lower().endswith(".zip"):
        name += ".zip"

    def store() -> TakDataPackage:
        with platform.unit_of_work(caller.principal, write=True) as session:
            return packages.upload(
                session,
                caller.device,
                data,
                name=name,
                keywords=[],
                declared_type=declared,
                declared_hash=hash,
                tool="private",
                settings=platform.settings,
                mission_package=True,
            )

    package = await run_in_threadpool(store)
    return _url(request, package.hash)


@router.post("/Marti/sync/upload")
async def upload(
    request: Request,
    caller: DeviceCaller,
    name: Annotated[str, Query(max_length=255)],
    keywords: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies it
    creator_uid: Annotated[str | None, Query(alias="creatorUid", max_length=200)] = None,
    tool: Annotated[str, Query(max_length=16)] = "public",
) -> JSONResponse:
    _check_creator(caller, creator_uid)
    platform = _platform(request)
    words = packages.keyword_list(keywords)
    packages.check_tool(tool)
    data = await _body(request, platform.settings.tak_package_max_bytes)

    def store() -> dict[str, Any]:
        with platform.unit_of_work(caller.principal, write=True) as session:
            package = packages.upload(
                session,
                caller.device,
                data,
                name=name,
                keywords=words,
                declared_type=request.headers.get("content-type"),
                declared_hash=None,
                tool=tool,
                settings=platform.settings,
                mission_package=False,
            )
            return _result(package, 1)

    return JSONResponse(await run_in_threadpool(store))


# ---- reads ----------------------------------------------------------------------------------


@router.get("/Marti/sync/missionquery", response_class=PlainTextResponse)
def mission_query(
    request: Request,
    caller: DeviceCaller,
    hash: Annotated[str, Query(max_length=200)],
) -> str:
    platform = _platform(request)
    with platform.unit_of_work(caller.principal) as session:
        found = packages.find(session, caller.viewer, hash)
        if found is None:  # the picture's package, the same way as its download
            packages.content(session, caller.viewer, hash, platform.settings)
    return _url(request, hash.strip().lower())


@router.get("/Marti/sync/content")
def content(
    request: Request,
    caller: DeviceCaller,
    hash: Annotated[str, Query(max_length=200)],
) -> Response:
    platform = _platform(request)
    with platform.unit_of_work(caller.principal) as session:
        download = packages.content(session, caller.viewer, hash, platform.settings)
    plain = download.name.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    disposition = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(download.name)}"
    return Response(
        download.content,
        media_type=download.mime_type,
        headers={"content-disposition": disposition},
    )


@router.get("/Marti/sync/search")
def search(
    request: Request,
    caller: DeviceCaller,
    keywords: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies it
    tool: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    platform = _platform(request)
    words = packages.keyword_list(keywords)
    with platform.unit_of_work(caller.principal) as session:
        found = packages.search(session, caller.viewer, keywords=words, tool=tool)
        results = [_result(p, n) for n, p in enumerate(found, 1)]
        if tool in (None, "public") and set(words) <= set(packages.Picture.keywords):
            picture = packages.picture_package(session, caller.viewer, platform.settings)
            results.append(
                {
                    "UID": picture.uid,
                    "Name": picture.name,
                    "Hash": picture.hash,
                    "PrimaryKey": len(results) + 1,
                    "SubmissionDateTime": _time(picture.made),
                    "SubmissionUser": "CMCC",
                    "CreatorUid": "cmcc",
                    "Keywords": ",".join(picture.keywords),
                    "MIMEType": "application/zip",
                    "Size": len(picture.content),
                    "Tool": "public",
                }
            )
    return {"resultCount": len(results), "results": results}


@router.put("/Marti/api/sync/metadata/{hash_}/tool", response_class=PlainTextResponse)
async def put_tool(request: Request, caller: DeviceCaller, hash_: str) -> str:
    platform = _platform(request)
    tool = (await _body(request, 64)).decode("utf-8", "replace")

    def change() -> str:
        with platform.unit_of_work(caller.principal, write=True) as session:
            return packages.set_tool(session, caller.device, caller.viewer, hash_, tool).hash

    return _url(request, await run_in_threadpool(change))


# ---- version --------------------------------------------------------------------------------


@router.get("/Marti/api/version", response_class=PlainTextResponse)
def version(caller: DeviceCaller) -> str:
    return SERVER


@router.get("/Marti/api/version/config")
def version_config(request: Request, caller: DeviceCaller) -> dict[str, Any]:
    return {
        "version": "3",
        "type": "ServerConfig",
        "data": {"version": SERVER, "api": "3", "hostname": request.url.hostname or ""},
        "nodeId": groups.NODE_ID,
    }


# ---- the server -----------------------------------------------------------------------------

REFRESH_SECONDS = 5.0  # how often the port's TLS takes a new revocation list


class MartiServer:
    """The running Marti port: stop() ends it."""

    def __init__(self, served: Served, tls: ServerTls) -> None:
        self.served = served
        self.port = served.port
        self._refresher = asyncio.create_task(self._refresh(tls), name="marti-tls-refresh")

    @staticmethod
    async def _refresh(tls: ServerTls) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await tls.refresh()
            except Exception:  # the database away for a moment: the next round tries again
                log.exception("the Marti port's revocation list was not refreshed")

    async def stop(self) -> None:
        self._refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._refresher
        await self.served.stop()


async def start(
    platform: Platform, host: str, *, routers: Sequence[APIRouter] = ()
) -> MartiServer | None:
    """Serve the Marti app on CMCC_TAK_HTTPS_PORT with client certificates; None when the port
    is 0, there is no CA yet, or the port is taken (the log says why; the rest runs on)."""
    port = platform.settings.tak_https_port
    if not port:
        return None
    try:
        tls = await asyncio.to_thread(server_tls, platform, client_certificates=True)
    except NotFound as exc:  # no CA yet
        log.warning("TAK data packages not started: %s", exc)
        return None
    except (DomainError, OSError, ValueError) as exc:  # the CA's key cannot be read
        log.error("TAK data packages not started: %s", exc)
        return None
    try:
        served = await serve(create_app(platform, routers=routers), host, port, tls)
    except OSError as exc:
        log.error("TAK data packages not started: %s", exc)
        return None
    log.info("TAK data packages (Marti, mutual TLS) on %s:%s", host, served.port)
    return MartiServer(served, tls)
