"""All console pages, for the application shell to include."""

from __future__ import annotations

from fastapi import APIRouter

from . import admin_pages, office_pages, regulator_pages, signin_pages
from .web import ConsoleContext


def router(ctx: ConsoleContext) -> APIRouter:
    r = APIRouter()
    r.include_router(signin_pages.router(ctx))
    r.include_router(admin_pages.router(ctx))
    r.include_router(office_pages.router(ctx))
    r.include_router(regulator_pages.router(ctx))
    return r
