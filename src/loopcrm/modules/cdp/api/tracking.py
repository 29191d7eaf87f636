"""The web tracker, served by LoopCRM itself: Segment's analytics.js (the standalone build of
``@segment/analytics-next``) and the chunks it loads lazily, so a website needs no CDN.

The paths are the ones analytics.js expects from its CDN, with this server as the CDN:

* ``/analytics.js/v1/{writeKey}/analytics.min.js`` — the classic snippet's path. The script reads
  the write key from the snippet (``analytics._writeKey``) or from this path.
* ``/analytics-next/bundles/{chunk}.js`` — webpack's public path: ``<cdn>/analytics-next/bundles/``,
  where ``<cdn>`` is ``analytics._cdn`` (set by the snippet to this server's address).

``make install`` copies the files from ``node_modules`` into ``static/vendor/analytics-next``
(git-ignored); the settings document the script then loads is answered by ``ingestion.py``.
The key in the path is not checked here: the file is the same for every source, and the
settings request that follows refuses an unknown or disabled key.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response

from loopcrm.platform.web.mount import STATIC_DIRECTORY

router = APIRouter(include_in_schema=False)

TRACKER_DIRECTORY: Path = STATIC_DIRECTORY / "vendor" / "analytics-next"
TRACKER_FILE = "standalone.js"
# A chunk's name as webpack writes it: "<name>.bundle.<content hash>.js", nothing else.
_CHUNK_NAME = re.compile(r"[A-Za-z0-9_-]+\.bundle\.[0-9a-f]{8,64}\.js")
_JAVASCRIPT = "text/javascript; charset=utf-8"
# The tracker keeps its path across releases, so browsers ask again after a few minutes; chunks
# carry their content hash in the name and never change.
_TRACKER_CACHE = "public, max-age=300"
_CHUNK_CACHE = "public, max-age=31536000, immutable"


def _served(path: Path, cache_control: str) -> Response:
    if not path.is_file():
        return PlainTextResponse(
            "The web tracker is not installed on this server (run `make install`).", status_code=404
        )
    return FileResponse(
        path,
        media_type=_JAVASCRIPT,
        headers={"Cache-Control": cache_control, "Access-Control-Allow-Origin": "*"},
    )


@router.get("/analytics.js/v1/{write_key}/analytics.min.js")
def tracker(write_key: str) -> Response:
    """analytics.js for a website: the same file for every write key."""
    return _served(TRACKER_DIRECTORY / TRACKER_FILE, _TRACKER_CACHE)


@router.get("/analytics-next/bundles/{chunk}")
def tracker_chunk(chunk: str) -> Response:
    """A chunk analytics.js loads when a feature needs it (auto-track, query string, plugins)."""
    if not _CHUNK_NAME.fullmatch(chunk):
        return PlainTextResponse("No such file.", status_code=404)
    return _served(TRACKER_DIRECTORY / chunk, _CHUNK_CACHE)
