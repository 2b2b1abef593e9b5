"""``tutor board``: who is connected, where each learner is, and a leaderboard.

Reads only: the progress database (``tutor.progress.board_rows``), the server's
``sessions.json`` and the bench queue. Refreshes every 2 s in a worker thread so
a busy database never freezes the keyboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tutor.progress.values import printable
from tutor.ui.widgets.keybar import KeyBar

REFRESH_S = 2.0
COLUMNS = ("#", "learner", "on", "lesson", "done", "challenges", "predict", "quiz", "score")


@dataclass
class BoardLoaded(Message):
    rows: list[dict[str, Any]]
    sessions: int
    queue: dict[str, int]
    error: str | None = None


def _plain(value: Any) -> Text:
    """Store text as plain text: a learner's name or lesson id is never markup."""
    return Text(printable(value))


def _fraction(right: Any, answered: Any) -> str:
    return f"{right or 0}/{answered or 0}"


class BoardScreen(Screen[None]):
    BINDINGS = [
        Binding("l", "toggle_leaderboard", "Leaderboard", id="board.leaderboard"),
        Binding("r", "refresh_now", "Refresh", id="board.refresh"),
        Binding("q", "app.quit", "Quit", id="board.quit"),
    ]

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static("loading...", id="summary")
        table: DataTable[Any] = DataTable(id="learners", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="leaderboard")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#learners", DataTable).add_columns(*COLUMNS)
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="board")
    def load(self) -> None:
        from tutor.lab.benchqueue import queue_status
        from tutor.serve.export import collect
        from tutor.serve.sessions import read_sessions

        try:
            rows = collect(self.data_dir)
            sessions = sum(1 for s in read_sessions(self.data_dir) if s.get("role") == "learner")
            queue = queue_status(self.data_dir / "bench")
            self.post_message(BoardLoaded(rows, sessions, queue))
        except Exception as exc:  # a locked or missing database: show it, keep going
            self.post_message(BoardLoaded([], 0, {}, error=str(exc)))

    @on(BoardLoaded)
    def show(self, message: BoardLoaded) -> None:
        # Re-arm after each load, not on a fixed interval: a read slower than
        # the interval would otherwise start the next before it ends, and pile up.
        self.set_timer(REFRESH_S, self.load)
        q = message.queue
        summary = (
            f"{message.sessions} connected · {len(message.rows)} learners · "
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
                Text("●", style="green") if row["connected"] else Text("·", style="dim"),
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
        self.toggle_class("-leaderboard")

    def action_refresh_now(self) -> None:
        self.load()


class BoardApp(App[None]):
    CSS_PATH = "board.tcss"
    TITLE = "concurrency-tutor board"

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir

    def on_mount(self) -> None:
        self.push_screen(BoardScreen(self.data_dir))
