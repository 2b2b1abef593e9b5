"""The `tutor` command line.

Each subcommand's work lives next to what it drives (``tutor.lab.commands``,
``tutor.lessons.commands``, ...) and is imported only when chosen, so
`tutor run`, `tutor lint` and `tutor lessons` never import Textual.

Contract for subcommand handlers: ``handler(args: argparse.Namespace) -> int``
returning the exit status; raise :class:`UsageError` for bad input (exit 2,
one line, naming what is allowed).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tutor.errors import UsageError, whole_number

__all__ = ["UsageError", "main", "whole_number"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints the whole usage block; one clear line is friendlier.
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _common(parser: argparse.ArgumentParser, *, lessons: bool = False, data: bool = False) -> None:
    """Options accepted both before and after the subcommand.

    Subcommands use SUPPRESS defaults: otherwise their defaults would overwrite
    a value given before the subcommand name (an argparse quirk).
    """
    top = parser.prog == "tutor"
    none = None if top else argparse.SUPPRESS
    if lessons:
        parser.add_argument(
            "--lessons",
            metavar="DIR",
            action="append",
            default=[] if top else argparse.SUPPRESS,
            help="also read lessons from DIR (repeatable)",
        )
        parser.add_argument(
            "--only-lessons",
            action="store_true",
            default=False if top else argparse.SUPPRESS,
            help="use only the --lessons folders, not the built-in lessons",
        )
    if data:
        parser.add_argument(
            "--data-dir",
            metavar="DIR",
            default=none,
            help="where progress is stored (default: $TUTOR_DATA_DIR or the user data dir)",
        )
        parser.add_argument(
            "--profile", metavar="NAME", default=none, help="learner profile (default: your user name)"
        )


def _room_options(parser: argparse.ArgumentParser, *, join_flag: bool) -> None:
    """How to reach a workshop room: `tutor join` and `tutor run --join`."""
    if join_flag:
        parser.add_argument("--join", metavar="HOST[:PORT]", help="also report the results to this workshop room")
    parser.add_argument("--name", metavar="NAME", help="how the room shows you (with --join)" if join_flag else "how the room shows you")
    parser.add_argument("--fingerprint", metavar="SHA256:...", help="the room's host key, from the instructor's banner")
    parser.add_argument("--identity", metavar="FILE", help="log in with this SSH key instead of the room password")


def build_parser() -> argparse.ArgumentParser:
    from tutor import __version__

    parser = _Parser(
        prog="tutor",
        description="Learn when to use threads, processes and asyncio: predict, then measure on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"concurrency-tutor {__version__}")
    _common(parser, lessons=True, data=True)
    parser.set_defaults(handler="tutor.ui.launch:play_command")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    from tutor.lab.registry import SCENARIOS, START_METHODS, STRATEGIES

    run = sub.add_parser(
        "run",
        help="run a lab scenario headless and print what was measured",
        description="Run a real workload in a child process and measure it on this machine.",
    )
    run.add_argument("scenario", metavar="SCENARIO", help=f"one of: {', '.join(SCENARIOS)}")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--strategy", "-s", metavar="S", help=f"one of: {', '.join(STRATEGIES)}")
    mode.add_argument("--compare", action="store_true", help="run every strategy that fits, interleaved")
    run.add_argument(
        "--repeat",
        type=str,
        default="3",
        metavar="K",
        help="the most rounds with --compare (default 3); it stops earlier once the best is clearly ahead",
    )
    run.add_argument("--tasks", type=str, metavar="N", help="how much work (files, jobs, dishes...)")
    run.add_argument("--workers", type=str, metavar="N", help="how many threads or processes do it")
    run.add_argument("--start-method", choices=START_METHODS, help="how processes are started")
    run.add_argument("--preset", metavar="NAME", help="a named parameter set (e.g. downloads --preset seed)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a scenario parameter")
    run.add_argument("--quick", action="store_true", help="small sizes (seconds, for tests and demos)")
    run.add_argument("--json", action="store_true", help="print the JSON Lines event stream")
    run.add_argument("--no-probe", action="store_true", help="skip the parallel-capacity probe")
    _room_options(run, join_flag=True)
    run.set_defaults(handler="tutor.lab.commands:run_command")

    doctor = sub.add_parser("doctor", help="machine facts and what they mean for the lessons")
    _common(doctor, data=True)
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler="tutor.lab.commands:doctor_command")

    lint = sub.add_parser("lint", help="check lesson files and report exact file:line errors")
    lint.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: built-in lessons)")
    lint.add_argument("--run", action="store_true", help="also run every challenge (quick) on this machine")
    lint.add_argument("--repeat", type=str, default="3", metavar="K", help="runs per strategy with --run (default 3)")
    _common(lint, lessons=True)
    lint.set_defaults(handler="tutor.lessons.commands:lint_command")

    lessons = sub.add_parser("lessons", help="list the lessons")
    lessons.add_argument("--json", action="store_true")
    _common(lessons, lessons=True)
    lessons.set_defaults(handler="tutor.lessons.commands:lessons_command")

    join = sub.add_parser(
        "join",
        help="play on this machine and report to a workshop room",
        description="Play here, measure on this machine, and report each verdict to the instructor's room "
        "(the room password comes from TUTOR_ROOM_PASSWORD or is asked for).",
    )
    join.add_argument("room", metavar="HOST[:PORT]", help="the room's address, as the instructor's banner shows it")
    _room_options(join, join_flag=False)
    _common(join, lessons=True, data=True)
    join.set_defaults(handler="tutor.ui.launch:join_command")

    quiz = sub.add_parser("quiz", help="quiz-only mode (workshop warm-ups)")
    quiz.add_argument("lesson", nargs="?", metavar="LESSON", help="a lesson id (default: all)")
    _common(quiz, lessons=True, data=True)
    quiz.set_defaults(handler="tutor.ui.launch:quiz_command")

    progress = sub.add_parser("progress", help="show, export, import or reset progress")
    _common(progress, data=True)
    psub = progress.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    show = psub.add_parser("show", help="progress per lesson and overall")
    show.add_argument("--json", action="store_true")
    _common(show, lessons=True, data=True)
    exp = psub.add_parser("export", help="write progress to a JSON file")
    exp.add_argument("file", metavar="FILE")
    _common(exp, data=True)
    imp = psub.add_parser("import", help="read progress from a JSON file")
    imp.add_argument("file", metavar="FILE")
    _common(imp, data=True)
    reset = psub.add_parser("reset", help="forget progress (asks first)")
    reset.add_argument("--lesson", metavar="ID")
    reset.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _common(reset, data=True)
    progress.set_defaults(handler="tutor.progress.commands:progress_command")

    serve = sub.add_parser("serve", help="serve the game to a workshop (ssh or web)")
    ssub = serve.add_subparsers(dest="transport", metavar="TRANSPORT", parser_class=_Parser, required=True)
    ssh = ssub.add_parser("ssh", help="an SSH server: one app per learner")
    ssh.add_argument("--host", default="127.0.0.1")
    ssh.add_argument("--port", type=int, default=2222)
    ssh.add_argument("--auth", choices=("password", "keys", "open"), default="password")
    ssh.add_argument("--password", metavar="SECRET")
    ssh.add_argument("--authorized-keys", metavar="FILE")
    ssh.add_argument("--instructor", metavar="USER", help="SSH user who gets the instructor board")
    ssh.add_argument("--max-sessions", type=int, metavar="N")
    ssh.add_argument("--idle-timeout", type=float, default=1800, metavar="SECONDS")
    ssh.add_argument("--max-per-address", type=int, default=10, metavar="N", help="logged-in connections and games per client address (raise it for a room behind one NAT)")
    ssh.add_argument("--max-logging-in", type=int, default=100, metavar="N", help="connections still logging in, all addresses together")
    ssh.add_argument("--login-grace", type=float, default=30, metavar="SECONDS", help="time allowed to log in, and to open the game once logged in")
    ssh.add_argument("--bench-slots", type=int, metavar="N", help="measured runs at a time (default: cores // 2, at least 1)")
    ssh.add_argument("--spares", type=int, default=2, metavar="N", help="game processes kept warm for the next learners (0 = start each cold)")
    _common(ssh, lessons=True, data=True)
    web = ssub.add_parser("web", help="serve to browsers with textual-serve (no authentication)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--max-sessions", type=int, metavar="N", help="games at once (default: available memory / 80 MB, at most 200)")
    web.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN", help="another page origin allowed to play, e.g. https://tutor.example.org behind a proxy (repeatable)")
    _common(web, lessons=True, data=True)
    serve.set_defaults(handler="tutor.serve.commands:serve_command")

    board = sub.add_parser("board", help="the instructor's live board")
    board.add_argument("--export", metavar="FILE", help="write results (.csv or .json) and exit")
    _common(board, data=True)
    board.set_defaults(handler="tutor.serve.commands:board_command")
    return parser


def _load_handler(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(_load_handler(args.handler)(args) or 0)
    except UsageError as exc:
        print(f"tutor: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tutor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `tutor run --json | head` closes the pipe early; that is not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
