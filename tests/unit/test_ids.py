"""UuidSource: version 4 UUIDs from blocks of kernel randomness, never reused."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from targetkit.ids import UuidSource


def test_ids_are_version_4_uuids_in_canonical_form() -> None:
    source = UuidSource()
    for _ in range(600):  # more than one block
        text = source()
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text


def test_ids_are_unique_across_threads() -> None:
    source = UuidSource()
    drawn: list[list[str]] = [[] for _ in range(4)]

    def draw(into: list[str]) -> None:
        into.extend(source() for _ in range(2000))

    threads = [threading.Thread(target=draw, args=(bucket,)) for bucket in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [text for bucket in drawn for text in bucket]
    assert len(set(flat)) == len(flat) == 8000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_the_parents_block() -> None:
    source = UuidSource()
    source()  # the parent has a block with 255 ids left
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        os.write(write_end, source().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child_id = os.read(read_end, 64).decode()
    assert child_id != source()
