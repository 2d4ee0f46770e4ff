"""The live class's store and event feeds, made in the app's lifespan and reached by a dependency.

BPC_STORE names the store (app/store): the same for every worker process and replica, which is
what lets a push through one of them reach readers of another, and a class outlive a worker.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from redis import RedisError

from app.classroom.feed import ClassFeeds
from app.classroom.service import Classroom
from app.core.config import Settings, get_settings
from app.core.limits import Limits
from app.store import open_store

# What a store raises when it cannot answer (a locked file past the busy timeout, a Redis that
# is down): the routes answer 503, never 500.
STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, RedisError, OSError)


@dataclass
class Live:
    """The class actions and this worker's event feeds, over one store."""

    classroom: Classroom
    feeds: ClassFeeds

    @classmethod
    def from_settings(cls, settings: Settings) -> Live:
        store = open_store(settings.store)
        limits = Limits.from_settings(settings)
        classroom = Classroom(
            store, limits, settings.class_ttl_s, settings.class_join_failures_per_minute
        )
        feeds = ClassFeeds(
            store,
            settings.class_poll_s,
            settings.class_heartbeat_s,
            settings.class_streams_per_worker,
            limits.class_max_events,
        )
        return cls(classroom, feeds)

    def close(self) -> None:
        self.feeds.close()
        close = getattr(self.classroom.store, "close", None)
        if close is not None:
            close()


@contextlib.asynccontextmanager
async def class_lifespan(app: FastAPI) -> AsyncIterator[None]:
    live = Live.from_settings(get_settings())
    previous = getattr(app.state, "live", None)  # a test's second client on the same app
    app.state.live = live
    try:
        yield
    finally:
        live.close()
        app.state.live = previous


def current_live(request: Request) -> Live:
    live: Live = request.app.state.live
    return live


LiveDep = Annotated[Live, Depends(current_live)]
