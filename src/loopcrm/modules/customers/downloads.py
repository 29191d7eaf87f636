"""Sending a file of customer data (a list export or an import report) over HTTP, the same way
from the REST API and from the web pages.

The file itself, with its name and ``Content-Disposition``, is the service's
:class:`~loopcrm.modules.customers.service.exports.Download`; the HTTP response lives here, next to
the entry points, because services return data and never speak HTTP.
"""

from __future__ import annotations

from starlette.responses import StreamingResponse

from loopcrm.modules.customers.service.exports import Download


def send_download(download: Download) -> StreamingResponse:
    """Stream ``download`` as an attachment; ``no-store`` keeps it out of browser and proxy caches
    (a report or an export holds names, phones and emails)."""
    return StreamingResponse(
        download.chunks,
        media_type=download.media_type,
        headers={"Content-Disposition": download.content_disposition, "Cache-Control": "no-store"},
    )
