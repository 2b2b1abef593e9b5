"""Joined games (`tutor join`, `tutor run --join`) against a real room server on loopback.

Every test starts the real `tutor serve ssh` server in its own process (see
``serve_helpers``) and talks to it with the real client, or runs the real
`tutor` command line in a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest
from room_helpers import login, measured, sequential, verdict_data
from serve_helpers import free_port, stop

from tutor.room import protocol
from tutor.room.client import JOINED, OFFLINE, RoomClient, RoomTarget
from tutor.room.outbox import Outbox
from tutor.serve.room.view import read_view

PASSWORD = "room-secret-1"
pytestmark = pytest.mark.timeout(240)


def room_server(server_factory, **overrides):
    return server_factory(auth="password", password=PASSWORD, **overrides)


def tutor(
    *args: str, data: Path, password: str | None = PASSWORD, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TUTOR_ROOM_PASSWORD"}
    env["TUTOR_DATA_DIR"] = str(data)
    if password is not None:
        env["TUTOR_ROOM_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "tutor", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def verdict(challenge: str = "gil/crunch-2", cores: int = 4, winner: str = "processes") -> dict:
    results = {
        "sequential": sequential(cores, free_threaded_build=False),
        "processes": measured("processes", cores, 2.8, 2.6, 3.0, wall_s=0.7, start_method="fork"),
    }
    return verdict_data(
        results,
        challenge=challenge,
        lesson=challenge.split("/")[0],
        winner=winner,
        facts={"platform": "linux", "cores": cores, "logical_cpus": cores},
    )


def run_joined(address: str, data: Path, **kw) -> subprocess.CompletedProcess[str]:
    """`tutor run crunch --compare --quick --repeat 1`, joined to the room at ``address`` as ada."""
    return tutor(
        "run",
        "crunch",
        "--compare",
        "--quick",
        "--repeat",
        "1",
        "--join",
        address,
        "--name",
        "ada",
        data=data,
        **kw,
    )


def client_for(
    port: int, data: Path, name: str = "ada", password: str = PASSWORD, **kw
) -> RoomClient:
    target = RoomTarget("127.0.0.1", port, name, password=password, data_dir=data, **kw)
    return RoomClient(target, Outbox(data))


@contextlib.contextmanager
def running(client: RoomClient) -> Iterator[RoomClient]:
    """``client`` started, and closed on the way out whatever happened."""
    client.start()
    try:
        yield client
    finally:
        client.close()


def export(server_data: Path, tmp_path: Path) -> dict:
    out = tmp_path / "room.json"
    proc = tutor(
        "board", "--data-dir", str(server_data), "--export", str(out), data=tmp_path / "board"
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())["room"]


# -- the done-when: tutor run --join --------------------------------------------------------


def test_run_join_reports_crunch_with_machine_facts(server_factory, tmp_path):
    server = room_server(server_factory)
    proc = run_joined(f"127.0.0.1:{server.port}", tmp_path / "ada")
    assert proc.returncode == 0, proc.stderr
    assert "Number crunching" in proc.stdout  # the local result is shown as always
    assert f"room 127.0.0.1:{server.port}: crunch results sent as ada" in proc.stderr
    assert "remembered the room's host key SHA256:" in proc.stderr  # first use: accept-new
    assert len(proc.stderr.strip().splitlines()) == 1
    room = export(server.data_dir, tmp_path)
    [result] = room["results"]
    assert (
        result["name"] == "ada"
        and result["challenge"] == "run:crunch"
        and result["scenario"] == "crunch"
    )
    machine = result["machine"]
    assert machine["cores"] >= 1 and machine["python"].count(".") == 2
    assert isinstance(machine["gil_enabled"], bool)
    assert {s["strategy"] for s in result["strategies"]} >= {"sequential", "processes"}
    assert [learner["name"] for learner in room["learners"]] == ["ada"]
    # Nothing of the learner's machine beyond the documented fields.
    text = json.dumps(result)
    assert str(tmp_path) not in text and os.environ.get("USER", "@@") not in text.replace("ada", "")
    # Sent, so nothing is left waiting in the outbox.
    assert Outbox(tmp_path / "ada").count(f"127.0.0.1:{server.port}") == 0


def test_wrong_password_one_line_result_still_shown_and_kept(server_factory, tmp_path):
    server = room_server(server_factory)
    proc = run_joined(f"127.0.0.1:{server.port}", tmp_path / "ada", password="nope-nope")
    assert proc.returncode == 1
    assert "Number crunching" in proc.stdout  # the local result is shown as always
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "wrong password" in lines[0] and "kept" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert Outbox(tmp_path / "ada").count(f"127.0.0.1:{server.port}") == 1
    # Kept, and sent the next time the learner joins with the right password.
    with running(client_for(server.port, tmp_path / "ada")) as client:
        assert client.flush(30)
    assert [r["name"] for r in export(server.data_dir, tmp_path)["results"]] == ["ada"]


def test_server_down_one_line_and_kept(tmp_path):
    port = free_port()
    proc = run_joined(f"127.0.0.1:{port}", tmp_path / "ada")
    assert proc.returncode == 1
    assert "Number crunching" in proc.stdout  # the local result is shown as always
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the room" in lines[0] and "kept" in lines[0], (
        proc.stderr
    )
    assert Outbox(tmp_path / "ada").count(f"127.0.0.1:{port}") == 1


def test_changed_or_unexpected_host_key_is_refused_before_login(server_factory, tmp_path):
    server = room_server(server_factory)
    fingerprint = server.banner_value("host key fingerprint")
    data = tmp_path / "ada"
    data.mkdir()
    other = "SHA256:" + "A" * 43
    # A different key remembered for this room: the key changed.
    (data / "room_known_hosts").write_text(f"127.0.0.1:{server.port} {other}\n")
    with running(client_for(server.port, data)) as client:
        assert not client.flush(20, until_unreachable=False)
        assert client.state.status == OFFLINE
        assert "different host key" in client.state.detail and fingerprint in client.state.detail
    # A pinned fingerprint that is not the room's: refused too.
    fresh = tmp_path / "bob"
    with running(client_for(server.port, fresh, name="bob", fingerprint=other)) as client:
        assert not client.flush(20, until_unreachable=False)
        assert client.state.status == OFFLINE and "not joining" in client.state.detail
    assert not (fresh / "room_known_hosts").exists()
    # Unknown and unpinned: remembered on first use (accept-new), then trusted.
    with running(client_for(server.port, tmp_path / "cy", name="cy")) as client:
        assert client.flush(20) and client.state.status == JOINED
    assert (tmp_path / "cy" / "room_known_hosts").read_text().split() == [
        f"127.0.0.1:{server.port}",
        fingerprint,
    ]
    # With the banner's fingerprint pinned, it joins.
    pinned = client_for(server.port, tmp_path / "dee", name="dee", fingerprint=fingerprint)
    with running(pinned):
        assert pinned.flush(20)


def test_run_join_usage_errors(tmp_path):
    for args, needle in [
        (["run", "crunch", "--compare", "--join", "127.0.0.1:2222"], "--name"),
        (["run", "crunch", "--compare", "--join", "127.0.0.1:99999", "--name", "ada"], "port"),
        (["run", "crunch", "--compare", "--join", "h:1", "--name", "a b"], "--name must be"),
        (["run", "crunch", "--strategy", "threads", "--join", "h:1", "--name", "ada"], "--compare"),
        (["run", "crunch", "--compare", "--name", "ada"], "go with --join"),
        (
            [
                "run",
                "crunch",
                "--compare",
                "--join",
                "h:1",
                "--name",
                "ada",
                "--fingerprint",
                "MD5:xx",
            ],
            "SHA256",
        ),
        (["join", "h:1"], "--name"),
    ]:
        proc = tutor(*args, data=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, (
            args,
            proc.stderr,
        )


# -- reliability ------------------------------------------------------------------------------


def test_server_killed_mid_lesson_loses_nothing(server_factory, tmp_path):
    port = free_port()
    server_data = tmp_path / "server"
    server = room_server(server_factory, port=port, data_dir=str(server_data))
    data = tmp_path / "ada"
    with running(client_for(port, data)) as client:
        client.report("verdict", verdict("gil/crunch-1"))
        assert client.flush(20)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        client.report("verdict", verdict("gil/crunch-2"))
        client.report("progress", dict(protocol.progress_data("done", "gil")))
        assert not client.flush(3, until_unreachable=False)
        assert client.state.waiting == 2 and client.state.status != JOINED
        room_server(server_factory, port=port, data_dir=str(server_data))
        assert client.flush(60, until_unreachable=False), client.state
    room = export(server_data, tmp_path)
    assert sorted(r["challenge"] for r in room["results"]) == ["gil/crunch-1", "gil/crunch-2"]


def test_a_report_sent_twice_is_stored_once_and_identity_is_the_login(server_factory, tmp_path):
    server = room_server(server_factory)

    async def talk() -> list[dict]:
        async with login(server.port, "ada", PASSWORD) as conn:
            chan, session = await conn.create_session(
                Collect, subsystem=protocol.SUBSYSTEM, encoding=None
            )
            report = {
                "type": "report",
                "id": "ab" * 16,
                "at": time.time(),
                "kind": "verdict",
                "data": verdict(),
            }
            chan.write(protocol.encode({"type": "hello", "client": "test"}))
            chan.write(protocol.encode(report))
            chan.write(protocol.encode(report))  # an acknowledgement lost: sent again
            spoof = dict(report, id="cd" * 16, data=dict(verdict(), name="bob"))
            chan.write(protocol.encode(spoof))
            return await session.messages(4)

    import asyncio

    replies = asyncio.run(talk())
    assert replies[0] == {"v": 1, "type": "welcome", "name": "ada", "room": "concurrency-tutor"}
    assert [m["type"] for m in replies[1:]] == ["rejected", "ack", "ack"] or sorted(
        m["type"] for m in replies[1:]
    ) == ["ack", "ack", "rejected"]
    rejected = next(m for m in replies if m["type"] == "rejected")
    assert rejected["id"] == "cd" * 16 and "unknown fields" in rejected["reason"]
    room = export(server.data_dir, tmp_path)
    assert [(r["name"], r["id"]) for r in room["results"]] == [("ada", "ab" * 16)]


class Collect(asyncssh.SSHClientSession):
    def __init__(self) -> None:
        import asyncio

        self.reader = protocol.LineReader()
        self.got: list[dict] = []
        self.more = asyncio.Event()
        self.closed = False

    def data_received(self, data, datatype):
        self.got += [json.loads(line) for line in self.reader.feed(data)]
        self.more.set()

    def connection_lost(self, exc):
        self.closed = True
        self.more.set()

    async def messages(self, count: int, timeout: float = 10) -> list[dict]:
        import asyncio

        deadline = time.monotonic() + timeout
        while len(self.got) < count and not self.closed and time.monotonic() < deadline:
            self.more.clear()
            await asyncio.wait_for(self.more.wait(), max(0.01, deadline - time.monotonic()))
        return self.got


def test_oversized_or_garbled_messages_end_the_channel(server_factory):
    server = room_server(server_factory)

    async def send(payload: bytes) -> list[dict]:
        async with login(server.port, "eve", PASSWORD) as conn:
            chan, session = await conn.create_session(
                Collect, subsystem=protocol.SUBSYSTEM, encoding=None
            )
            chan.write(payload)
            got = await session.messages(5, timeout=5)
            return got if session.closed else got + [{"type": "still open"}]

    import asyncio

    big = asyncio.run(send(b"x" * (protocol.MAX_LINE + 10)))
    assert big[-1]["type"] == "bye" and "bytes" in big[-1]["reason"]
    garbled = asyncio.run(send(b'{"v": 1, "type": "report", "id": NaN}\n'))
    assert garbled[-1]["type"] == "bye"
    early = asyncio.run(send(protocol.encode({"type": "report", "id": "ab" * 16})))
    assert early[-1]["type"] == "bye" and "hello" in early[-1]["reason"]
    hello = protocol.encode({"type": "hello", "client": "test"})
    twice = asyncio.run(send(hello + hello))
    assert [m["type"] for m in twice] == ["welcome", "bye"]


def test_rate_limit_answers_busy_and_loses_nothing(server_factory, tmp_path):
    server = room_server(server_factory, room_reports_per_s=5.0, room_burst=3)
    client = client_for(server.port, tmp_path / "ada")
    for i in range(12):
        client.report("verdict", verdict(f"gil/crunch-{i}"))
    started = time.monotonic()
    with running(client):
        assert client.flush(60, until_unreachable=False), client.state
    # 3 at once, then 5 a second: the last ones had to wait for the limit.
    assert time.monotonic() - started >= 1.0
    assert len(export(server.data_dir, tmp_path)["results"]) == 12


def test_a_joined_game_starts_nothing_on_the_host(server_factory, tmp_path):
    server = room_server(server_factory)
    with running(client_for(server.port, tmp_path / "ada")) as client:
        assert client.flush(20) and client.state.status == JOINED
        assert server.sessions() == [] and server.descendants() == []
        assert wait_for_states(server.data_dir) == [("ada", "joined")]
    assert wait_for_states(server.data_dir, "left") == [("ada", "left")]
    stop(server.proc)


def wait_for_states(
    data: Path, state: str = "joined", timeout: float = 10
) -> list[tuple[str, str]]:
    """The room's learners and states, once every one is in ``state`` (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        view = read_view(data)
        states = [(x["name"], x["state"]) for x in view.learners] if view else []
        if (states and all(s == state for _, s in states)) or time.monotonic() > deadline:
            return states
        time.sleep(0.05)


def test_join_with_a_key_in_a_keys_room(server_factory, tmp_path):
    key = asyncssh.generate_private_key("ssh-ed25519")
    identity = tmp_path / "id_ed25519"
    identity.write_bytes(key.export_private_key())
    identity.chmod(0o600)
    authorized = tmp_path / "authorized_keys"
    authorized.write_bytes(key.export_public_key())
    server = server_factory(auth="keys", authorized_keys=str(authorized))
    client = client_for(server.port, tmp_path / "ada", password=None, identity=identity)
    with running(client):
        assert client.flush(20), client.state
        # In key mode two people may pick one name: the key's tag tells them apart.
        tag = key.get_fingerprint("sha256").partition(":")[2]
        assert client.state.name.startswith("ada-") and client.state.name[4:] in tag.replace(
            "+", ""
        ).replace("/", "")
    other = client_for(server.port, tmp_path / "bob", name="bob", password="whatever")
    with running(other):
        assert not other.flush(20, until_unreachable=False)
        assert other.state.status == OFFLINE and "refused the login" in other.state.detail


@pytest.mark.timeout(60)
async def test_joined_game_shows_the_room_state_and_why_it_is_offline(server_factory, tmp_path):
    import asyncio

    from tutor.lessons import load_catalog
    from tutor.progress import open_store
    from tutor.ui.joined import joined_app
    from tutor.ui.widgets.titlebar import TitleBar

    server = room_server(server_factory)
    catalog = load_catalog(
        extra_dirs=[Path(__file__).parent.parent / "ui" / "lessons"], builtin=False
    )

    async def title_when(app, needle: str) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            title = str(app.screen.query_one(TitleBar).render())
            if needle in title:
                return title
            await asyncio.sleep(0.05)
        raise AssertionError(f"title never showed {needle!r}: {title!r}")

    for password, expected in [(PASSWORD, "room: joined as ada"), ("wrong-one", "room: offline")]:
        data = tmp_path / password
        store = open_store(data, "ada")
        target = RoomTarget("127.0.0.1", server.port, "ada", password=password, data_dir=data)
        app, client = joined_app(catalog, store, target)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await title_when(app, expected)
                if expected == "room: offline":
                    await pilot.pause()
                    notes = [str(n.message) for n in app._notifications]
                    assert any("wrong password" in n for n in notes), notes
                # What the game saves is mirrored: a finished lesson becomes a report.
                app.store.mark_done("test-crunch")
                if expected.startswith("room: joined"):
                    assert await asyncio.to_thread(client.flush, 10)
                else:
                    await title_when(app, "1 to send")
        finally:
            client.close()
            store.close()
    with open_store(tmp_path / "wrong-one", "ada") as store:
        assert (
            store.lesson_progress("test-crunch").state == "done"
        )  # kept locally, whatever the room said


def test_a_full_room_says_so_and_takes_the_game_once_there_is_room(server_factory, tmp_path):
    server = room_server(server_factory, room_max_joined=1)
    first = client_for(server.port, tmp_path / "ada")
    first.start()
    second = client_for(server.port, tmp_path / "bob", name="bob")
    try:
        assert first.flush(20)
        second.report("verdict", verdict())
        second.start()
        assert not second.flush(20)
        assert "room is full" in second.state.detail and second.state.status != OFFLINE
        first.close()  # a place frees up: bob's next attempt gets in and sends
        assert second.flush(60, until_unreachable=False), second.state
    finally:
        first.close()
        second.close()
