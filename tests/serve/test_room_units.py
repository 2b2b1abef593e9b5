"""The room's plain parts: protocol validation, the outbox, host keys, the view, rate limits."""

from __future__ import annotations

import json
import os

import pytest
from room_helpers import measured, report, sequential, verdict_data

from tutor.room import hostkeys, protocol
from tutor.room.client import parse_address
from tutor.room.outbox import Outbox
from tutor.serve.room.store import RoomStore
from tutor.serve.room.view import challenge_view, dot_plot, read_view, summary_lines
from tutor.serve.ssh.limits import TokenBucket


def verdict(cores: int = 4, winner: str = "processes", speedup: float = 2.8, **machine) -> dict:
    results = {
        "sequential": sequential(
            cores,
            gil_enabled=machine.pop("gil_enabled", True),
            free_threaded_build=machine.pop("free_threaded_build", False),
        ),
        "processes": measured(
            "processes",
            cores,
            speedup,
            start_method=machine.pop("start_method", "fork"),
            foreign_load_percent=machine.pop("load", 2.0),
        ),
    }
    return verdict_data(
        results,
        challenge="gil/crunch-2",
        lesson="gil",
        winner=winner,
        facts={"platform": "linux", "cores": cores, "logical_cpus": cores, **machine},
    )


def test_a_built_verdict_validates_and_carries_only_the_documented_fields():
    clean = protocol.validate_report(report(verdict()))
    data = clean["data"]
    assert data["machine"]["cores"] == 4 and data["machine"]["python"] == "3.12.1"
    assert data["machine"]["gil_enabled"] is True and data["machine"]["os"] == "linux"
    assert [s["strategy"] for s in data["strategies"]] == ["sequential", "processes"]
    assert set(data) == set(protocol.VerdictData.__annotations__)
    # Round trip through the wire format.
    assert protocol.decode(protocol.encode(report(verdict()))[:-1])["type"] == "report"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda r: r["data"].update(name="bob"), "unknown fields"),
        (lambda r: r.update(user="bob"), "unknown fields"),
        (lambda r: r["data"]["machine"].update(home="/home/ada"), "unknown fields"),
        (lambda r: r.update(id="../../etc"), "id"),
        (lambda r: r.update(kind="shell"), "kind"),
        (lambda r: r["data"].update(winner="nobody"), "winner"),
        (lambda r: r["data"]["strategies"][1].update(speedup=-1), "speedup"),
        (lambda r: r["data"]["strategies"][1].update(speedup=True), "speedup"),
        (lambda r: r["data"].update(challenge="\x1b[2J"), "challenge"),
        (lambda r: r["data"]["machine"].update(python="3.12\n"), "python"),
        (lambda r: r["data"].update(strategies=[]), "strategies"),
        (lambda r: r["data"].update(strategies=r["data"]["strategies"] * 2), "repeat"),
        (lambda r: r["data"]["machine"].update(cores=0), "cores"),
    ],
)
def test_invalid_reports_are_refused_with_a_reason(change, needle):
    raw = json.loads(json.dumps(report(verdict())))
    change(raw)
    with pytest.raises(protocol.ProtocolError, match=needle):
        protocol.validate_report(raw)


def test_wire_format_limits():
    with pytest.raises(protocol.ProtocolError, match="version"):
        protocol.decode(b'{"v": 2, "type": "hello"}')
    with pytest.raises(protocol.ProtocolError, match="number"):
        protocol.decode(b'{"v": 1, "type": "report", "at": NaN}')
    with pytest.raises(protocol.ProtocolError, match="object"):
        protocol.decode(b"[1, 2]")
    reader = protocol.LineReader()
    assert reader.feed(b'{"a":') == []
    assert reader.feed(b' 1}\n\n{"b"') == [b'{"a": 1}']
    with pytest.raises(protocol.ProtocolError, match="bytes"):
        protocol.LineReader().feed(b"x" * (protocol.MAX_LINE + 1))
    with pytest.raises(protocol.ProtocolError, match="limit"):
        protocol.encode({"type": "report", "pad": "x" * protocol.MAX_LINE})


def test_progress_reports():
    ok = protocol.validate_report(
        dict(
            report({}),
            kind="progress",
            data=dict(protocol.progress_data("quiz", "gil", "q1", True)),
        )
    )
    assert ok["data"] == {"event": "quiz", "lesson": "gil", "item": "q1", "correct": True}
    with pytest.raises(protocol.ProtocolError, match="event"):
        protocol.validate_report(
            dict(report({}), kind="progress", data={"event": "rm", "lesson": "gil"})
        )


def test_outbox_is_durable_ordered_and_per_room(tmp_path):
    box = Outbox(tmp_path)
    first = box.add("h:1", "verdict", {"n": 1})
    box.add("h:1", "verdict", {"n": 2})
    box.add("other:2", "progress", {"n": 3})
    box.close()
    assert oct(os.stat(tmp_path / "room-outbox.sqlite3").st_mode & 0o777) == "0o600"
    box = Outbox(tmp_path)  # a new process: everything still there
    assert [r["data"]["n"] for r in box.waiting("h:1")] == [1, 2]
    box.done(first)
    box.done(first)  # an acknowledgement that arrives twice is harmless
    assert [r["data"]["n"] for r in box.waiting("h:1")] == [2]
    assert box.count("other:2") == 1


def test_host_keys_accept_new_refuse_changed(tmp_path):
    fp1, fp2 = "SHA256:" + "a" * 43, "SHA256:" + "b" * 43
    assert hostkeys.verify(tmp_path, "h:1", fp1, None) is True  # remembered
    assert hostkeys.verify(tmp_path, "h:1", fp1, None) is False  # known
    with pytest.raises(hostkeys.HostKeyError, match="different host key"):
        hostkeys.verify(tmp_path, "h:1", fp2, None)
    with pytest.raises(hostkeys.HostKeyError, match="not joining"):
        hostkeys.verify(tmp_path, "h:2", fp2, fp1)
    # The instructor made a new key and says so: pinning it replaces the old one.
    assert hostkeys.verify(tmp_path, "h:1", fp2, fp2) is True
    assert hostkeys.verify(tmp_path, "h:1", fp2, None) is False
    assert oct(os.stat(tmp_path / "room_known_hosts").st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError, match="SHA256"):
        hostkeys.check_fingerprint_option("MD5:aa")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.5", ("10.0.0.5", 2222)),
        ("10.0.0.5:2200", ("10.0.0.5", 2200)),
        ("[::1]:22", ("::1", 22)),
        ("room.local", ("room.local", 2222)),
    ],
)
def test_room_addresses(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", ":22", "h:0", "h:70000", "h:x", "a b:1", "[::1"])
def test_bad_room_addresses(text):
    with pytest.raises(ValueError, match="HOST|port"):
        parse_address(text)


def latest(name: str, data: dict) -> dict:
    return {"name": name, **protocol.validate_report(report(data))["data"]}


def test_room_view_counts_machines_plots_by_cores_and_explains_outliers():
    room = [
        latest("ada", verdict(cores=8, speedup=3.6)),
        latest("bob", verdict(cores=8, speedup=3.4)),
        latest("cy", verdict(cores=2, speedup=1.8)),
        latest("dee", verdict(cores=1, winner="sequential", speedup=0.9)),
        latest(
            "eve",
            verdict(cores=4, winner="sequential", speedup=0.9, start_method="spawn", load=60.0),
        ),
        latest("fay", verdict(cores=4, speedup=2.9, free_threaded_build=True, gil_enabled=False)),
    ]
    view = challenge_view("gil/crunch-2", room)
    assert view.machines == 6 and view.winners == [("processes", 4), ("sequential", 2)]
    assert view.plotted == "processes"
    assert [(g.cores, len(g.speedups)) for g in view.by_cores] == [(1, 1), (2, 1), (4, 2), (8, 2)]
    reasons = {o.name: o.reasons for o in view.outliers}
    assert reasons == {"dee": ["1 core"], "eve": ["spawn", "heavy load (60%)"]}
    assert {o.name for o in view.unusual} == {"fay"}
    lines = summary_lines(view, 78)
    assert all(len(line) <= 78 for line in lines), lines
    plot = dot_plot(view, 78)
    assert plot[-1].rstrip().endswith("3.50x") and "8 cores" in plot[-1]


def test_room_store_dedups_and_tracks_presence(tmp_path):
    store = RoomStore(tmp_path)
    r = protocol.validate_report(report(verdict()))
    assert store.write([("ada", r), ("ada", r), ("bob", r)], [("ada", 1)]) == [True, False, True]
    view = read_view(tmp_path)
    assert view is not None and view.reports == 2
    assert [(x["name"], x["state"], x["verdicts"]) for x in view.learners] == [
        ("ada", "playing", 1),
        ("bob", "left", 1),
    ]
    progress = [
        protocol.validate_report(
            dict(report({}), kind="progress", data=dict(protocol.progress_data(*args)))
        )
        for args in [
            ("quiz", "gil", "q1", False),
            ("quiz", "gil", "q1", True),
            ("quiz", "gil", "q2", False),
            ("done", "gil"),
            ("done", "gil"),
        ]
    ]
    store.write([("ada", p) for p in progress], [])
    [ada] = [x for x in read_view(tmp_path).learners if x["name"] == "ada"]
    # The latest answer per question counts; a lesson is done once.
    assert (ada["quiz_right"], ada["quiz_answered"], ada["lessons_done"]) == (1, 2, 1)
    store.write([], [("ada", -1)])
    store.server_started()
    assert {x["state"] for x in read_view(tmp_path).learners} == {"left"}


def test_token_bucket():
    bucket = TokenBucket(rate=1.0, burst=3)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take()
    assert 0 < wait <= 1.0
