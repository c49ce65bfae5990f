"""The host stops reading a session's PTY while the client has much unacknowledged (a
slow link), and reads on once it has caught up: over a real TCP connection on loopback
whose receiver stops reading."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from termnews.host.backlog import OutputGate, unacknowledged


@pytest.fixture
def stalled() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(sender, receiver): the receiver's buffer is small and nobody reads it yet."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    receiver = socket.socket()
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    receiver.connect(listener.getsockname())
    sender, _ = listener.accept()
    listener.close()
    sender.setblocking(False)
    try:
        yield sender, receiver
    finally:
        sender.close()
        receiver.close()


def fill(sender: socket.socket) -> int:
    sent = 0
    try:
        while True:
            sent += sender.send(b"x" * 4096)
    except BlockingIOError:
        return sent


def drain(receiver: socket.socket, count: int) -> None:
    while count > 0:
        count -= len(receiver.recv(65536))


def test_unacknowledged_counts_what_the_peer_has_not_taken(
    stalled: tuple[socket.socket, socket.socket],
) -> None:
    sender, receiver = stalled
    assert unacknowledged(sender) == 0
    sent = fill(sender)
    assert unacknowledged(sender) > 16384
    drain(receiver, sent)
    for _ in range(100):  # the acknowledgements go out as the receiver reads
        if unacknowledged(sender) == 0:
            break
        time.sleep(0.01)
    assert unacknowledged(sender) == 0
    assert unacknowledged(None) == 0


async def test_the_gate_holds_while_the_link_is_backed_up_and_releases_after(
    stalled: tuple[socket.socket, socket.socket],
) -> None:
    sender, receiver = stalled
    events: list[str] = []
    released = asyncio.Event()

    def release() -> None:
        events.append("release")
        released.set()

    gate = OutputGate(lambda: unacknowledged(sender), lambda: events.append("hold"), release)
    gate.wrote()
    assert events == [] and not gate.holding  # nothing in flight: read on
    sent = fill(sender)
    gate.wrote()
    gate.wrote()
    assert events == ["hold"] and gate.holding
    await asyncio.sleep(0.1)
    assert events == ["hold"]  # still nobody reads: still held
    await asyncio.to_thread(drain, receiver, sent)
    await asyncio.wait_for(released.wait(), 10)
    assert events == ["hold", "release"] and not gate.holding
    gate.close()
