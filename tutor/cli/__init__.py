"""The `tutor` command line.

Each subcommand's work lives next to what it drives (``tutor.cli.lab``,
``tutor.cli.lessons``, ...) and is imported only when chosen, so
`tutor run`, `tutor lint` and `tutor lessons` never import Textual.

Contract for subcommand handlers: ``handler(args: argparse.Namespace) -> int``
returning the exit status; raise :class:`UsageError` for bad input (exit 2,
one line, naming what is allowed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tutor.errors import UsageError, whole_number

__all__ = ["UsageError", "main", "whole_number"]


class _Help(argparse.HelpFormatter):
    """Help at the terminal's width, at most 100 columns, options aligned."""

    def __init__(self, prog: str) -> None:
        import shutil

        width = min(shutil.get_terminal_size((80, 24)).columns, 100)
        super().__init__(prog, max_help_position=28, width=width)


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
            "--profile",
            metavar="NAME",
            default=none,
            help="learner profile (default: your user name)",
        )


def _room_options(parser: argparse.ArgumentParser, *, join_flag: bool) -> None:
    """How to reach a workshop room: `tutor join` and `tutor run --join`."""
    if join_flag:
        parser.add_argument(
            "--join", metavar="HOST[:PORT]", help="also report the results to this workshop room"
        )
    parser.add_argument(
        "--name",
        metavar="NAME",
        help="how the room shows you" + (" (with --join)" if join_flag else ""),
    )
    parser.add_argument(
        "--fingerprint",
        metavar="SHA256:...",
        help="the room's host key, from the instructor's banner",
    )
    parser.add_argument(
        "--identity", metavar="FILE", help="log in with this SSH key instead of the room password"
    )


def build_parser() -> argparse.ArgumentParser:
    from tutor import __version__

    parser = _Parser(
        prog="tutor",
        usage="tutor [OPTIONS] [COMMAND ...]",
        description=(
            "Learn when to use threads, processes and asyncio: predict, then measure on "
            "this machine. With no COMMAND, `tutor` starts the game (it resumes where you left off)."
        ),
        epilog=(
            "examples: `tutor` (play), `tutor run crunch --compare` (measure headless), "
            "`tutor quiz gil` (a quiz), `tutor COMMAND --help` (one command's options)"
        ),
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"concurrency-tutor {__version__}")
    _common(parser, lessons=True, data=True)
    parser.set_defaults(handler=_play)
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands",
        description="with no COMMAND, tutor starts the game",
        prog="tutor",
        parser_class=_Parser,
    )

    from tutor.lab.registry import SCENARIOS, START_METHODS, STRATEGIES

    run = sub.add_parser(
        "run",
        help="run a lab scenario headless and print what was measured",
        description=(
            "Run a real workload in a child process and measure it on this machine. "
            "With --compare, every strategy gets the same work, in interleaved rounds, "
            "and the table gives medians with intervals."
        ),
        epilog="example: tutor run crunch --compare --quick",
        formatter_class=_Help,
    )
    run.add_argument("scenario", metavar="SCENARIO", help=f"one of: {', '.join(SCENARIOS)}")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--strategy", "-s", metavar="S", help=f"one of: {', '.join(STRATEGIES)}")
    mode.add_argument(
        "--compare", action="store_true", help="run every strategy that fits, interleaved"
    )
    run.add_argument(
        "--repeat",
        type=str,
        default="3",
        metavar="K",
        help="the most rounds with --compare (default %(default)s); it stops earlier once the best is clearly ahead",
    )
    run.add_argument(
        "--tasks", type=str, metavar="N", help="how much work (files, jobs, dishes...)"
    )
    run.add_argument("--workers", type=str, metavar="N", help="how many threads or processes do it")
    run.add_argument("--start-method", choices=START_METHODS, help="how processes are started")
    run.add_argument(
        "--preset", metavar="NAME", help="a named parameter set (e.g. downloads --preset seed)"
    )
    run.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a scenario parameter"
    )
    run.add_argument(
        "--quick", action="store_true", help="small sizes (seconds, for tests and demos)"
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the JSON Lines event stream (one object per line) instead of a table",
    )
    run.add_argument("--no-probe", action="store_true", help="skip the parallel-capacity probe")
    run.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH_OR_VERSION",
        help="run under this Python (a path, or a version like 3.13t; tutor doctor lists them); "
        "repeat it with --compare to run every strategy under each",
    )
    _room_options(run, join_flag=True)
    run.set_defaults(handler=_run)

    doctor = sub.add_parser(
        "doctor",
        help="machine facts and what they mean for the lessons",
        description="What this machine gives the lab (cores, start method, GIL, load, memory), every Python "
        "the lab can run under, and where progress is kept.",
        formatter_class=_Help,
    )
    _common(doctor, data=True)
    doctor.add_argument("--json", action="store_true", help="print the facts as one JSON object")
    doctor.set_defaults(handler=_doctor)

    lint = sub.add_parser(
        "lint",
        help="check lesson files and report exact file:line errors",
        description=(
            "Check lesson files (for authors): every error and warning as FILE:LINE. "
            "With --run, also run every challenge at quick sizes and say whether this "
            "machine reproduces what the lesson expects."
        ),
        epilog="example: tutor lint my-lessons/ --run",
        formatter_class=_Help,
    )
    lint.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders (default: built-in lessons)"
    )
    lint.add_argument(
        "--run", action="store_true", help="also run every challenge (quick) on this machine"
    )
    lint.add_argument(
        "--repeat",
        type=str,
        default="3",
        metavar="K",
        help="the most rounds of every strategy with --run (default %(default)s)",
    )
    _common(lint, lessons=True)
    lint.set_defaults(handler=_lint)

    lessons = sub.add_parser(
        "lessons",
        help="list the lessons",
        description="List the lessons in order, with their challenges, quiz questions and files.",
        formatter_class=_Help,
    )
    lessons.add_argument("--json", action="store_true", help="print the list as JSON")
    _common(lessons, lessons=True)
    lessons.set_defaults(handler=_lessons)

    join = sub.add_parser(
        "join",
        help="play on this machine and report to a workshop room",
        description="Play here, measure on this machine, and report each verdict to the instructor's room "
        "(the room password comes from TUTOR_ROOM_PASSWORD or is asked for).",
        epilog="example: tutor join 192.168.10.5:2222 --name ada --fingerprint SHA256:...",
        formatter_class=_Help,
    )
    join.add_argument(
        "room",
        metavar="HOST[:PORT]",
        help="the room's address, as the instructor's banner shows it",
    )
    _room_options(join, join_flag=False)
    _common(join, lessons=True, data=True)
    join.set_defaults(handler=_join)

    quiz = sub.add_parser(
        "quiz",
        help="quiz-only mode (workshop warm-ups)",
        description="Only the quiz questions, in the game's screens; answers count towards your progress.",
        formatter_class=_Help,
    )
    quiz.add_argument("lesson", nargs="?", metavar="LESSON", help="a lesson id (default: all)")
    _common(quiz, lessons=True, data=True)
    quiz.set_defaults(handler=_quiz)

    progress = sub.add_parser(
        "progress",
        help="show, export, import or reset progress",
        description="Your progress, kept in a SQLite file in the data folder (see `tutor doctor`).",
        formatter_class=_Help,
    )
    _common(progress, data=True)
    psub = progress.add_subparsers(
        dest="action", metavar="ACTION", parser_class=_Parser, required=True
    )
    show = psub.add_parser(
        "show",
        help="progress per lesson and overall",
        description="Progress per lesson and overall.",
    )
    show.add_argument("--json", action="store_true", help="print progress as JSON")
    _common(show, lessons=True, data=True)
    exp = psub.add_parser(
        "export",
        help="write progress to a JSON file",
        description="Write your progress to a JSON file (to move it to another machine).",
    )
    exp.add_argument("file", metavar="FILE", help="the JSON file to write")
    _common(exp, data=True)
    imp = psub.add_parser(
        "import",
        help="read progress from a JSON file",
        description="Merge progress from a JSON file made by `tutor progress export`; importing twice adds nothing.",
    )
    imp.add_argument("file", metavar="FILE", help="a JSON file from `tutor progress export`")
    _common(imp, data=True)
    reset = psub.add_parser(
        "reset",
        help="forget progress (asks first)",
        description="Forget progress, of one lesson or all.",
    )
    reset.add_argument(
        "--lesson", metavar="ID", help="forget only this lesson (default: every lesson)"
    )
    reset.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _common(reset, data=True)
    progress.set_defaults(handler=_progress)

    serve = sub.add_parser(
        "serve",
        help="serve the game to a workshop (ssh or web)",
        description="Serve the game to a workshop room: over SSH (one game per learner) or to browsers.",
        epilog="see docs/workshop.md for running a room",
    )
    ssub = serve.add_subparsers(
        dest="transport", metavar="TRANSPORT", parser_class=_Parser, required=True
    )
    ssh = ssub.add_parser(
        "ssh",
        help="an SSH server: one game per learner",
        description=(
            "An SSH server that gives every learner their own game on a pseudo-terminal. "
            "Learners run `ssh -p PORT NAME@HOST`; measured runs share the host's cores "
            "through a queue."
        ),
        formatter_class=_Help,
    )
    # The defaults are ServeConfig's, from a module cheap enough for every start.
    from tutor.serve import defaults

    ssh.add_argument(
        "--host",
        default=defaults.HOST,
        help="address to listen on (default %(default)s; 0.0.0.0 for a room)",
    )
    ssh.add_argument(
        "--port",
        type=int,
        default=defaults.PORT,
        help="port to listen on (default %(default)s; 0 = any free port)",
    )
    ssh.add_argument(
        "--auth",
        choices=defaults.AUTH_METHODS,
        default=defaults.AUTH,
        help="how learners log in (default %(default)s: one room password, printed at start)",
    )
    ssh.add_argument(
        "--password",
        metavar="SECRET",
        help="the room password (default: a new one, printed at start)",
    )
    ssh.add_argument(
        "--authorized-keys", metavar="FILE", help="OpenSSH authorized_keys file, with --auth keys"
    )
    ssh.add_argument("--instructor", metavar="USER", help="SSH user who gets the instructor board")
    ssh.add_argument(
        "--max-sessions",
        type=int,
        metavar="N",
        help=f"games at once (default: available memory / {defaults.MEMORY_PER_SESSION // defaults.MB} MB, at most {defaults.MOST_SESSIONS})",
    )
    ssh.add_argument(
        "--idle-timeout",
        type=float,
        default=defaults.IDLE_TIMEOUT,
        metavar="SECONDS",
        help="end a game idle this long (default %(default)g)",
    )
    ssh.add_argument(
        "--max-per-address",
        type=int,
        default=defaults.MAX_PER_ADDRESS,
        metavar="N",
        help="logged-in connections and games per client address (default %(default)s; raise it for a room behind one NAT)",
    )
    ssh.add_argument(
        "--max-logging-in",
        type=int,
        default=defaults.MAX_LOGGING_IN,
        metavar="N",
        help="connections still logging in, all addresses together (default %(default)s)",
    )
    ssh.add_argument(
        "--login-grace",
        type=float,
        default=defaults.LOGIN_GRACE,
        metavar="SECONDS",
        help="time allowed to log in, and to open the game once logged in (default %(default)g)",
    )
    ssh.add_argument(
        "--bench-slots",
        type=int,
        metavar="N",
        help="measured runs at a time (default: cores // 2, at least 1)",
    )
    ssh.add_argument(
        "--spares",
        type=int,
        default=defaults.SPARES,
        metavar="N",
        help="game processes kept warm for the next learners (default %(default)s; 0 = start each cold)",
    )
    _common(ssh, lessons=True, data=True)
    web = ssub.add_parser(
        "web",
        help="serve to browsers with textual-serve (no authentication)",
        description="Serve the game to web browsers (textual-serve). No authentication: keep it on a trusted network.",
        formatter_class=_Help,
    )
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    web.add_argument(
        "--max-sessions",
        type=int,
        metavar="N",
        help=f"games at once (default: available memory / {defaults.MEMORY_PER_SESSION // defaults.MB} MB, at most {defaults.MOST_SESSIONS})",
    )
    web.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another page origin allowed to play, e.g. https://tutor.example.org behind a proxy (repeatable)",
    )
    _common(web, lessons=True, data=True)
    serve.set_defaults(handler=_serve)

    board = sub.add_parser(
        "board",
        help="the instructor's live board",
        description="The instructor's live board of a room's progress, read from the server's data folder.",
        formatter_class=_Help,
    )
    board.add_argument("--export", metavar="FILE", help="write results (.csv or .json) and exit")
    _common(board, data=True)
    board.set_defaults(handler=_board)
    return parser


# Handlers import their module when chosen (so `tutor run` never imports Textual),
# spelled out so import tools see every edge of the graph.
def _play(args: argparse.Namespace) -> int:
    from tutor.cli.play import play_command

    return play_command(args)


def _quiz(args: argparse.Namespace) -> int:
    from tutor.cli.play import quiz_command

    return quiz_command(args)


def _join(args: argparse.Namespace) -> int:
    from tutor.cli.play import join_command

    return join_command(args)


def _run(args: argparse.Namespace) -> int:
    from tutor.cli.lab import run_command

    return run_command(args)


def _doctor(args: argparse.Namespace) -> int:
    from tutor.cli.lab import doctor_command

    return doctor_command(args)


def _lint(args: argparse.Namespace) -> int:
    from tutor.cli.lessons import lint_command

    return lint_command(args)


def _lessons(args: argparse.Namespace) -> int:
    from tutor.cli.lessons import lessons_command

    return lessons_command(args)


def _progress(args: argparse.Namespace) -> int:
    from tutor.cli.progress import progress_command

    return progress_command(args)


def _serve(args: argparse.Namespace) -> int:
    from tutor.cli.serve import serve_command

    return serve_command(args)


def _board(args: argparse.Namespace) -> int:
    from tutor.cli.serve import board_command

    return board_command(args)


# Options some subcommands lack (or leave SUPPRESSed, see _common): filled once
# here so every handler reads ``args.NAME`` and means the same default.
OPTION_DEFAULTS: dict[str, object] = {
    "lessons": [],
    "only_lessons": False,
    "data_dir": None,
    "profile": None,
    "json": False,
    "lesson": None,
    "yes": False,
    "run": False,
    "paths": [],
    "repeat": None,
    "export": None,
}


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line, with every option in OPTION_DEFAULTS present."""
    args = build_parser().parse_args(argv)
    for name, default in OPTION_DEFAULTS.items():
        if getattr(args, name, None) is None:
            setattr(args, name, list(default) if isinstance(default, list) else default)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse(argv)
        return int(args.handler(args) or 0)
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
