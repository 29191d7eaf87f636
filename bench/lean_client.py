"""A lean HTTP/1.1 client for load generation: pre-built POST requests over keep-alive connections.

The benchmarks run the load generator on the same two cores as the server. httpx spends about
2 ms of CPU per request (measured: ``bench/cdp_ingestion.py --client httpx``), so at 200
requests a second it would take 40 % of a core from the server it measures. This client writes
the request bytes as they are and reads only the status line, the headers it needs and the body,
on asyncio streams: a small fraction of that. It speaks just what LoopCRM's server answers
(``Content-Length`` bodies, or ``Transfer-Encoding: chunked``), and is for benchmarks only.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class LeanConnection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, request: bytes) -> int:
        """Send a complete request and read its whole answer; returns the status code."""
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        chunked = False
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while (size := int((await self.reader.readline()).split(b";")[0], 16)) > 0:
                await self.reader.readexactly(size + 2)
            await self.reader.readline()  # the empty trailer line
        elif length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


class LeanClient:
    """A pool of keep-alive connections to one server: a request takes a free connection or opens
    a new one, so an open-loop generator never waits for an earlier answer."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._free: list[LeanConnection] = []

    def post_request(self, path: str, body: bytes, content_type: str = "application/json") -> bytes:
        """The bytes of a POST request, built once and sent as many times as needed."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
        )
        return head.encode("ascii") + body

    async def send(self, request: bytes) -> int:
        reused = bool(self._free)
        connection = self._free.pop() if reused else await self._connect()
        try:
            status = await connection.send(request)
        except (ConnectionError, asyncio.IncompleteReadError):
            connection.close()
            if not reused:
                raise
            # The server closed an idle keep-alive connection before reading the request (uvicorn
            # does after 5 s): nothing was processed, so send once more on a new connection, as
            # HTTP clients do.
            connection = await self._connect()
            status = await connection.send(request)
        except BaseException:
            connection.close()
            raise
        self._free.append(connection)
        return status

    async def _connect(self) -> LeanConnection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return LeanConnection(reader, writer)

    def close(self) -> None:
        for connection in self._free:
            connection.close()
        self._free.clear()
