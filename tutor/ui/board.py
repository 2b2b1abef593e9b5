"""``tutor board``: who is connected, where each learner is, a leaderboard and the room view.

What it shows comes from a :class:`BoardFeed`: what a server keeps (``sessions.json``,
the room's database) is read by the serving layer, which this one may not import
(``tutor.serve.boardfeed.ServerFeed``; the command line hands it over). Refreshes
every 2 s in a worker thread so a busy database never freezes the keyboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tutor.progress.values import printable
from tutor.ui.widgets.keybar import KeyBar

REFRESH_S = 2.0
ROOM_POLL_S = 0.25
"""How often the room view asks SQLite whether the server wrote anything (one cheap PRAGMA)."""
ROOM_REREAD_S = 10.0
"""Read the room again even without news: "playing" turns into "joined" with time."""
COLUMNS = ("#", "learner", "on", "lesson", "done", "challenges", "predict", "quiz", "score")


class BoardFeed(Protocol):
    """What the board reads. A read may raise (a locked or damaged file): the board says so and keeps going."""

    def learners(self) -> list[dict[str, Any]]:
        """One row per learner, ranked (``tutor.serve.leaderboard.FIELDS``)."""

    def connected(self) -> int:
        """How many learners are connected now."""

    def bench_queue(self) -> dict[str, int]:
        """The bench queue now: ``running``, ``slots``, ``waiting``."""

    def room_version(self) -> int | None:
        """A number that changes whenever the room changes; None while there is no room to read.

        Called on the UI thread every ``ROOM_POLL_S``: it must be cheap, and
        never raise (a failed read is None, and the next call tries afresh).
        """

    def room(self) -> Any:
        """The room view (a ``tutor.serve.room.view.RoomView``), or None if nobody ever joined."""

    def challenge_lines(self, challenge: Any, width: int) -> list[str]:
        """One challenge of the room view as lines of at most ``width`` characters, its title first."""

    def close(self) -> None:
        """Let go of what ``room_version`` keeps open; it opens again when next called."""


@dataclass
class RoomLoaded(Message):
    view: Any  # BoardFeed.room()
    error: str | None = None


@dataclass
class BoardLoaded(Message):
    rows: list[dict[str, Any]]
    sessions: int
    queue: dict[str, int]
    error: str | None = None


def _plain(value: Any) -> Text:
    """Store text as plain text: a learner's name or lesson id is never markup."""
    return Text(printable(value))


def _names_line(state: str, names: list[str], width: int) -> str:
    """``playing: ada, bob (+12)``: as many names as fit one line, then how many more."""
    line = f"{state}:"
    for index, name in enumerate(names):
        more = f" (+{len(names) - index})"
        piece = f" {name}" + ("," if index < len(names) - 1 else "")
        if len(line) + len(piece) + len(more) > width and index < len(names):
            return line.rstrip(",") + more
        line += piece
    return line


def _presence(row: dict[str, Any]) -> Text:
    """● connected over SSH, ⇄ joined from their own machine (and still there), · gone."""
    if not row["connected"]:
        return Text("·", style="dim")
    return Text("⇄", style="cyan") if row.get("joined") else Text("●", style="green")


def _fraction(right: Any, answered: Any) -> str:
    return f"{right or 0}/{answered or 0}"


class BoardScreen(Screen[None]):
    BINDINGS = [
        Binding("l", "toggle_leaderboard", "Leaderboard", id="board.leaderboard"),
        Binding("v", "toggle_room", "Room view", id="board.room"),
        Binding("n", "challenge(1)", "Next challenge", id="board.next"),
        Binding("p", "challenge(-1)", "Previous", id="board.previous"),
        Binding("r", "refresh_now", "Refresh", id="board.refresh"),
        Binding("q", "app.quit", "Quit", id="board.quit"),
    ]

    def __init__(self, feed: BoardFeed) -> None:
        super().__init__()
        self.feed = feed
        self.rows: list[dict[str, Any]] = []
        self.room_view: Any = None
        self.room_version: int | None = None
        self.room_read_at = 0.0
        self.challenge_index = 0

    def compose(self) -> ComposeResult:
        yield Static("loading...", id="summary")
        table: DataTable[Any] = DataTable(id="learners", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="leaderboard")
        with VerticalScroll(id="room"):
            yield Static(id="room-view")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#learners", DataTable).add_columns(*COLUMNS)
        self.load()
        self.set_interval(ROOM_POLL_S, self.poll_room)

    # -- the room view (games joined from learners' machines) ------------------------
    def poll_room(self) -> None:
        """Reread the room when the server committed something (or now and then)."""
        import time

        version = self.feed.room_version()
        if version is None:
            return
        stale = time.monotonic() - self.room_read_at > ROOM_REREAD_S
        if version != self.room_version or stale:
            self.room_version = version
            self.room_read_at = time.monotonic()
            self.load_room()

    @work(thread=True, exclusive=True, exit_on_error=False, group="room")
    def load_room(self) -> None:
        try:
            self.post_message(RoomLoaded(self.feed.room()))
        except Exception as exc:  # a locked or damaged file: say so, keep polling
            self.post_message(RoomLoaded(None, error=str(exc)))

    @on(RoomLoaded)
    def show_room(self, message: RoomLoaded) -> None:
        self.room_view = message.view
        self.query_one("#room-view", Static).update(self._room_text(message.error))

    def _room_text(self, error: str | None = None) -> Text:
        if error:
            return Text(printable(f"cannot read the room: {error}"))
        view = self.room_view
        if view is None:
            return Text(
                "Nobody has joined from their own machine yet.\n\n"
                "Learners with the tutor installed run:\n  tutor join HOST:PORT --name NAME\n"
                "(the server's banner shows the line with this room's address).",
            )
        states: dict[str, list[str]] = {"playing": [], "joined": [], "left": []}
        for learner in view.learners:
            states[learner["state"]].append(learner["name"])
        width = max(40, self.size.width - 4)
        out = Text()
        out.append(
            f"Room: {len(states['playing'])} playing · {len(states['joined'])} joined · "
            f"{len(states['left'])} left · {view.reports} results\n",
            style="bold",
        )
        for state in ("playing", "joined", "left"):
            names = states[state]
            if names:
                out.append(
                    printable(_names_line(state, names, width)) + "\n",
                    style="dim" if state == "left" else "",
                )
        if not view.challenges:
            out.append("\nNo measured results yet.")
            return out
        self.challenge_index %= len(view.challenges)
        challenge = view.challenges[self.challenge_index]
        out.append(
            f"\nchallenge {self.challenge_index + 1} of {len(view.challenges)} (n/p to switch)\n",
            style="dim",
        )
        lines = self.feed.challenge_lines(challenge, width)
        out.append(printable(lines[0]) + "\n", style="bold")
        for line in lines[1:]:
            out.append(printable(line) + "\n")
        return out

    def action_toggle_room(self) -> None:
        self.remove_class("-leaderboard")
        self.toggle_class("-room")
        # What is known now (or how to join, before anyone has): a room may never appear.
        self.query_one("#room-view", Static).update(self._room_text())
        self.poll_room()

    def action_challenge(self, step: int) -> None:
        self.challenge_index += step
        self.query_one("#room-view", Static).update(self._room_text())

    def on_unmount(self) -> None:
        self.feed.close()

    @work(thread=True, exclusive=True, exit_on_error=False, group="board")
    def load(self) -> None:
        feed = self.feed
        try:
            self.post_message(BoardLoaded(feed.learners(), feed.connected(), feed.bench_queue()))
        except Exception as exc:  # a locked or missing database: show it, keep going
            self.post_message(BoardLoaded([], 0, {}, error=str(exc)))

    @on(BoardLoaded)
    def show(self, message: BoardLoaded) -> None:
        # Re-arm after each load, not on a fixed interval: a read slower than
        # the interval would otherwise start the next before it ends, and pile up.
        self.set_timer(REFRESH_S, self.load)
        q = message.queue
        joined = sum(1 for r in message.rows if r.get("joined") and r["connected"])
        joined_part = f"{joined} joined · " if any(r.get("joined") for r in message.rows) else ""
        summary = (
            f"{message.sessions} connected · {joined_part}{len(message.rows)} learners · "
            f"bench queue: {q.get('running', 0)}/{q.get('slots', 0)} running, {q.get('waiting', 0)} waiting"
        )
        if message.error:
            summary = f"cannot read progress: {message.error}"
        self.query_one("#summary", Static).update(_plain(summary))
        self.rows = message.rows
        table = self.query_one("#learners", DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in message.rows:
            acc = row["prediction_accuracy"]
            table.add_row(
                str(row["rank"]),
                _plain(row["profile"]),
                _presence(row),
                _plain(row["lesson"] or "-"),
                str(row["lessons_done"]),
                _fraction(row["challenges_right"], row["challenges_answered"]),
                f"{acc}%" if acc is not None else "-",
                _fraction(row["quiz_right"], row["quiz_answered"]),
                str(row["score"]),
                key=str(row["rank"]),  # sanitised names could collide; ranks cannot
            )
        if message.rows:
            table.move_cursor(row=min(cursor, len(message.rows) - 1))
        self.query_one("#leaderboard", Static).update(self._leaderboard())

    def _leaderboard(self) -> Table | Text:
        if not self.rows:
            return Text("No learners yet.", justify="center")
        table = Table(
            title="Leaderboard",
            expand=True,
            show_edge=False,
            padding=(0, 2),
            title_style="bold reverse",
        )
        table.add_column("#", justify="right")
        table.add_column("learner", ratio=1)
        table.add_column("score", justify="right")
        medal = {1: "bold yellow", 2: "bold white", 3: "bold dark_orange"}
        for row in self.rows[: max(3, (self.app.size.height - 6) // 2)]:
            style = medal.get(row["rank"], "bold")
            table.add_row(
                str(row["rank"]),
                _plain(row["profile"]),
                str(row["score"]),
                style=style,
                end_section=True,
            )
        return table

    def action_toggle_leaderboard(self) -> None:
        self.remove_class("-room")
        self.toggle_class("-leaderboard")

    def action_refresh_now(self) -> None:
        self.load()


class BoardApp(App[None]):
    CSS_PATH = "board.tcss"
    TITLE = "concurrency-tutor board"

    def __init__(self, feed: BoardFeed) -> None:
        super().__init__()
        self.feed = feed

    def on_mount(self) -> None:
        self.push_screen(BoardScreen(self.feed))
