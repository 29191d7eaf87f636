"""Record ids: UUIDv7 strings, unique across threads and across forked processes (the random
bytes are drawn from the operating system in blocks, see ``platform.db``)."""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid

from loopcrm.platform.db import new_id


def test_ids_are_version_7_uuids_in_time_order() -> None:
    first = new_id()
    time.sleep(0.002)
    second = new_id()

    parsed = uuid.UUID(first)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert str(parsed) == first
    assert abs((parsed.int >> 80) - time.time_ns() // 1_000_000) < 5_000  # milliseconds of now
    assert first < second  # later ids sort after earlier ones


def test_ids_made_by_many_threads_never_share_random_bits() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        into.extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch as often as the interpreter allows: the threads interleave
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)

    # the random bits alone: ids of different milliseconds would differ even with repeated bytes
    random_parts = [identifier[15:] for into in made for identifier in into]
    assert len(random_parts) == len(set(random_parts)) == 40_000


def test_a_forked_child_does_not_reuse_the_random_bytes_its_parent_drew() -> None:
    new_id()  # the parent has drawn a block and used only the start of it
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which must never return into pytest
        try:
            os.write(writing, " ".join(new_id() for _ in range(100)).encode())
        finally:
            os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    with os.fdopen(reading) as pipe:
        in_child = pipe.read().split()
    in_parent = [new_id() for _ in range(100)]

    # ids made in the same millisecond differ only in their random bits: compare those
    assert len(in_child) == 100
    assert not {identifier[15:] for identifier in in_child} & {identifier[15:] for identifier in in_parent}
