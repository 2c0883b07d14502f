"""Typed dependencies of the routes (FastAPI's ``Depends``): the running app's parts, for HTTP requests and
WebSockets alike. A handler names what it needs (``service: ServiceDep``) instead of reading ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from ferkit.web.browser_model import BrowserModel
from ferkit.web.jobs import JobManager
from ferkit.web.live import LiveSlots
from ferkit.web.server import Server
from ferkit.web.service import InferenceService
from ferkit.web.settings import WebSettings


def get_server(conn: HTTPConnection) -> Server:
    return conn.app.state.server


def get_settings(conn: HTTPConnection) -> WebSettings:
    return get_server(conn).settings


def get_service(conn: HTTPConnection) -> InferenceService:
    return get_server(conn).service


def get_jobs(conn: HTTPConnection) -> JobManager:
    return get_server(conn).jobs


def get_live_slots(conn: HTTPConnection) -> LiveSlots:
    return get_server(conn).live


def get_browser_model(conn: HTTPConnection) -> BrowserModel:
    return get_server(conn).browser_model


def client_address(conn: HTTPConnection) -> str:
    """The client's address, the unit of the per-client limits."""
    return conn.client.host if conn.client else ""


ServerDep = Annotated[Server, Depends(get_server)]
SettingsDep = Annotated[WebSettings, Depends(get_settings)]
ServiceDep = Annotated[InferenceService, Depends(get_service)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
LiveSlotsDep = Annotated[LiveSlots, Depends(get_live_slots)]
BrowserModelDep = Annotated[BrowserModel, Depends(get_browser_model)]
ClientDep = Annotated[str, Depends(client_address)]
