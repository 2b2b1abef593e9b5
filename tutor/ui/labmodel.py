"""What the live lab screen shows, as plain data fed by lab events (no Textual here).

The screen's message handlers call :meth:`LabModel.apply` for every event and
only bump :attr:`LabModel.version`; a 10 Hz timer redraws when the version
changed. Keeping the model free of widgets makes it testable with recorded
events and keeps the per-event cost to a few dict operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.lab.events import Event

COMPUTE = "compute"
WAIT = "wait"
IDLE = "idle"
READY = "ready"
"""Not a phase workers report: computing, but the samples say the worker was not on a CPU."""

CELL = {COMPUTE: "█", WAIT: "░", IDLE: "·", READY: "▒"}
"""Lane characters: every state differs in shape, not only in colour (NO_COLOR)."""

SOLID_SHARE = 0.9
"""A share at least this high is drawn as a whole core: the scheduler's ticks and
other programs leave a fully busy worker at 0.9-1.0, and a lone ▒ in a solid lane
would read as a pause that never happened."""

# Axis spans in seconds: the scale jumps between "nice" values instead of
# rescaling every frame, so lanes do not jitter while a run grows.
_SPANS = (1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 3600)


def nice_span(seconds: float) -> float:
    for span in _SPANS:
        if seconds <= span:
            return float(span)
    return float(seconds)


@dataclass
class Lane:
    worker: str
    label: str
    segments: list[list[Any]] = field(default_factory=list)
    """[start, end or None while open, phase], seconds from the run's start."""
    finished: bool = False
    ok: bool = True
    error: str | None = None
    detail: str = ""
    """What the worker says it holds or waits for ("has A wants B"), from phase events."""
    shares: list[list[float]] = field(default_factory=list)
    """[start, end, share]: the fraction of that window the worker was on a CPU,
    from samples' ``cpu_share``; back to back, in time order."""

    def add_share(self, start: float, end: float, share: float) -> None:
        if end > start:
            self.shares.append([start, end, min(max(float(share), 0.0), 1.0)])

    def _share(self, lo: float, hi: float, first: int) -> tuple[float | None, int]:
        """The time-weighted share over [lo, hi], or None when no window covers it.

        Past the last window the last share holds: a window's share is known only
        when it ends, and without this the live edge (and the run's last moments
        before the result) would flash solid until the next sample.
        """
        shares = self.shares
        while first < len(shares) and shares[first][1] <= lo:
            first += 1
        total = weight = 0.0
        probe = first
        while probe < len(shares) and shares[probe][0] < hi:
            start, end, share = shares[probe]
            overlap = min(end, hi) - max(start, lo)
            if overlap > 0:
                total += share * overlap
                weight += overlap
            probe += 1
        if shares and hi > shares[-1][1]:
            overlap = hi - max(shares[-1][1], lo)
            total += shares[-1][2] * overlap
            weight += overlap
        return (total / weight if weight > 0 else None), first

    def close(self, at: float) -> None:
        if self.segments and self.segments[-1][1] is None:
            self.segments[-1][1] = max(at, self.segments[-1][0])

    def enter(self, phase: str, at: float) -> None:
        if self.segments and self.segments[-1][1] is None and self.segments[-1][2] == phase:
            return
        self.close(at)
        self.segments.append([at, None, phase])

    def phase_at_end(self) -> str | None:
        if self.segments and self.segments[-1][1] is None:
            return self.segments[-1][2]
        return None

    def cells(
        self, span: float, width: int, now: float, origin: float = 0.0, offset: float = 0.0
    ) -> str:
        """One character per time bucket of [origin, origin + span]: the phase covering most of it.

        A compute bucket with a known CPU share is █ (on a CPU) or ▒ (ready, not
        running) by error diffusion: the share adds up cell by cell and each whole
        unit is one █, so a 0.25 share is one █ in four. ``offset`` (0..1) starts
        each lane's sum elsewhere, so four threads at 0.25 take visible turns
        instead of all drawing █ in the same column.
        """
        if width <= 0:
            return ""
        out: list[str] = []
        step = span / width
        segments = self.segments
        index = 0
        share_index = 0
        owed = offset % 1.0
        for column in range(width):
            lo = origin + column * step
            hi = lo + step
            if lo >= now:
                out.append(" ")
                continue
            hi = min(hi, now)
            cover: dict[str, float] = {}
            # Segments are in time order: skip those that ended before this bucket.
            while (
                index < len(segments)
                and (segments[index][1] if segments[index][1] is not None else now) <= lo
            ):
                index += 1
            probe = index
            while probe < len(segments) and segments[probe][0] < hi:
                start, end, phase = segments[probe]
                end = now if end is None else end
                overlap = min(end, hi) - max(start, lo)
                if overlap > 0:
                    cover[phase] = cover.get(phase, 0.0) + overlap
                probe += 1
            if not cover:
                out.append(" ")
                continue
            phase = max(cover, key=lambda p: cover[p])
            if phase == COMPUTE and self.shares:
                share, share_index = self._share(lo, hi, share_index)
                if share is not None:
                    owed += 1.0 if share >= SOLID_SHARE else share
                    if owed >= 1.0 - 1e-9:
                        owed -= 1.0
                    else:
                        phase = READY
            out.append(CELL.get(phase, "?"))
        return "".join(out)


@dataclass
class RunView:
    strategy: str
    state: str = "queued"
    """queued, running, done, failed or cancelled."""
    t0: float | None = None
    origin: float | None = None
    """When the first worker started (seconds from t0): the lanes' zero, so a
    calibration or probe before the work does not look like idle workers."""
    last_t: float = 0.0
    elapsed: float = 0.0
    cpu_percent: float | None = None
    mem_bytes: int | None = None
    cores: int | None = None
    tasks: int | None = None
    workers: int | None = None
    start_method: str | None = None
    parallel_capacity: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    lanes: dict[str, Lane] = field(default_factory=dict)
    note: str = ""
    result: Event | None = None
    error: str | None = None
    last_sample_at: float | None = None
    has_shares: bool = False
    """Some sample said how much CPU a lane really got (its ``cpu_share``)."""
    unshared_samples: int = 0
    """Samples of a computing threads/processes run that carried no share at all."""

    @property
    def ready_words(self) -> str:
        """What a computing lane off the CPU waits for: the GIL for threads on a GIL build."""
        if self.strategy.partition("@")[0] == "threads" and self.facts.get("gil_enabled", True):
            return "waiting for the GIL"
        return "waiting for a core"

    @property
    def now(self) -> float:
        return max(self.elapsed, self.last_t)

    @property
    def shown_s(self) -> float:
        """Seconds drawn on the lanes' axis so far: the measured time, once it is known."""
        if self.wall_s is not None:
            return self.wall_s
        return max(self.now - (self.origin or 0.0), 0.0)

    @property
    def wall_s(self) -> float | None:
        if self.result is not None and self.result.get("wall_s") is not None:
            return float(self.result["wall_s"])
        return None

    def _rel(self, event: Event) -> float:
        t = event.get("t")
        if t is None or self.t0 is None:
            return self.now
        return max(float(t) - self.t0, 0.0)

    def lane(self, worker: str, label: str | None = None) -> Lane:
        if self.origin is None:
            self.origin = self.last_t
        lane = self.lanes.get(worker)
        if lane is None:
            lane = self.lanes[worker] = Lane(worker, label or worker)
        elif label:
            lane.label = label
        return lane

    def apply(self, event: Event) -> None:
        kind = event.get("event")
        if kind == "queued":
            # Served to a room: measured runs take turns on the host's cores.
            estimate = event.get("estimate_s")
            wait = f", about {estimate:.0f} s" if isinstance(estimate, (int, float)) else ""
            # One line: runs take turns so each measurement gets the machine alone.
            self.note = f"Waiting for the shared lab: place {event.get('position')} in line{wait}"
            return
        if kind == "started":
            self.note = ""
            self.state = "running"
            self.t0 = float(event.get("t", 0.0))
            self.tasks = event.get("tasks")
            self.workers = event.get("workers")
            self.start_method = event.get("start_method")
            self.facts = dict(event.get("facts") or {})
            self.cores = self.facts.get("cores", self.cores)
            return
        at = self._rel(event)
        self.last_t = max(self.last_t, at)
        if kind == "probe":
            self.parallel_capacity = event.get("parallel_capacity")
            self.cores = event.get("cores", self.cores)
        elif kind == "measuring":
            # The timed part starts: the lanes and the elapsed clock count from here,
            # the same clock as the result's wall time.
            self.origin = at
        elif kind == "worker_started":
            self.lane(str(event.get("worker")), event.get("label"))
        elif kind == "phase":
            lane = self.lane(str(event.get("worker")))
            lane.enter(str(event.get("phase")), at)
            if isinstance(event.get("detail"), str):
                lane.detail = event["detail"]
        elif kind == "worker_finished":
            lane = self.lane(str(event.get("worker")))
            lane.close(at)
            lane.finished = True
            lane.ok = bool(event.get("ok", True))
            lane.error = event.get("error")
        elif kind == "sample":
            self.elapsed = float(event.get("elapsed_s", self.elapsed))
            self.cpu_percent = event.get("cpu_percent")
            self.mem_bytes = event.get("mem_bytes")
            self.cores = event.get("cores", self.cores)
            # Samples name each worker's phase: a lane whose phase events were
            # lost (or never sent) still shows what the worker does.
            phases = event.get("workers") or {}
            for worker, phase in phases.items():
                lane = self.lane(str(worker))
                if not lane.finished and lane.phase_at_end() != phase:
                    lane.enter(str(phase), at)
            self._apply_shares(event.get("cpu_share"), phases, at)
            self.last_sample_at = at
        elif kind == "note":
            self.note = str(event.get("text", ""))
        elif kind == "result":
            self.finish(event, at)

    def _apply_shares(self, shares: Any, phases: dict[str, Any], at: float) -> None:
        """Each lane's CPU share since its previous one, as a window ending at this sample."""
        for worker, share in (shares if isinstance(shares, dict) else {}).items():
            if not isinstance(share, (int, float)):
                continue
            lane = self.lane(str(worker))
            if lane.shares:
                start = lane.shares[-1][1]
            elif lane.segments:
                # The runner starts a lane's clock when the worker first reports.
                start = lane.segments[0][0]
            else:
                start = self.last_sample_at if self.last_sample_at is not None else at
            lane.add_share(start, at, share)
            self.has_shares = True
        if self.has_shares or self.strategy.partition("@")[0] not in ("threads", "processes"):
            return
        if COMPUTE in phases.values():
            self.unshared_samples += 1
            # Two, not one: a lane that appeared just after the sampler read the
            # others computes without a share for one sample even where shares work.
            if self.unshared_samples == 2:
                # One line at 80 columns, under the lanes it explains.
                self.note = (
                    "Per-worker CPU times unavailable: █ shows wanting a CPU, not getting one"
                )

    def finish(self, result: Event | None, at: float | None = None) -> None:
        end = self.now if at is None else at
        if result is not None and result.get("wall_s") is not None and self.t0 is not None:
            end = max(end, (self.origin or 0.0) + float(result["wall_s"]))
        for lane in self.lanes.values():
            lane.close(end)
        self.last_t = max(self.last_t, end)
        if self.state == "cancelled":
            return
        self.result = result
        if result is None:
            self.state = "failed"
            self.error = self.error or "the run ended without a result"
        elif not result.get("ok", True):
            self.state = "failed"
            self.error = result.get("error") or "the run failed"
        else:
            self.state = "done"
            self.cpu_percent = result.get("cpu_percent", self.cpu_percent)
            self.cores = result.get("cores", self.cores)
            self.parallel_capacity = result.get("parallel_capacity", self.parallel_capacity)


class LabModel:
    """Every run of one challenge's comparison: the learner's choice first, then the others.

    A comparison has rounds (each strategy once per round, the same work); the
    lanes show each strategy's latest run, the table its values so far, and
    once it is over, :attr:`summaries` holds the comparison's estimates.
    """

    def __init__(
        self, strategies: list[str], max_rounds: int = 1, estimator: str = "median"
    ) -> None:
        self.order = list(strategies)
        self.runs: dict[str, RunView] = {s: RunView(s) for s in strategies}
        self.values: dict[str, list[float]] = {s: [] for s in strategies}
        """Every finished run's wall time, per strategy, in the order they ran."""
        self.max_rounds = max_rounds
        self.finished_runs: dict[str, int] = {}
        self.estimator = estimator
        self.round = 0
        """The round being run (0-based)."""
        self.current: str | None = None
        self.viewing: str | None = None
        """The run whose lanes the learner chose to look at (←/→), else the live one."""
        self.version = 0
        self.finished = False
        self.cancelled = False
        self.summaries: dict[str, dict[str, Any]] = {}
        """strategy -> the comparison's summary (what judge() takes), once it is over."""
        self.stopped: str | None = None
        """Why the comparison stopped early or not (see Comparison.stopped)."""

    def start(self, strategy: str, round_index: int = 0) -> None:
        if round_index > 0:
            # A repeat: fresh lanes for this run, the earlier runs' times stay in values.
            self.runs[strategy] = RunView(strategy)
        self.round = round_index
        self.current = strategy
        self.runs[strategy].state = "running"
        self.version += 1

    def apply(self, strategy: str, event: Event) -> None:
        self.runs[strategy].apply(event)
        self.version += 1

    def finish(self, strategy: str, result: Event | None, error: str | None = None) -> None:
        run = self.runs[strategy]
        if error and run.error is None:
            run.error = error
        run.finish(result)
        if run.state == "done":
            # A deadlocked run is done without a time: it counts as a round all the same.
            self.finished_runs[strategy] = self.finished_runs.get(strategy, 0) + 1
            if run.wall_s is not None:
                self.values[strategy].append(run.wall_s)
        self.version += 1

    def estimate(self, strategy: str) -> float | None:
        """The strategy's time so far, as the verdict will estimate it."""
        from tutor.lab.stats import estimate

        summary = self.summaries.get(strategy)
        if summary is not None:
            return summary.get("wall_s")
        values = self.values.get(strategy) or []
        return estimate(values, self.estimator) if values else None

    def cancel(self) -> None:
        self.cancelled = True
        for run in self.runs.values():
            if run.state in ("queued", "running"):
                run.state = "cancelled"
        self.version += 1

    def done(
        self, summaries: list[dict[str, Any]] | None = None, stopped: str | None = None
    ) -> None:
        self.finished = True
        self.current = None
        from tutor.lab.compare import variant_of

        self.summaries = {variant_of(s): s for s in summaries or [] if s.get("ok")}
        self.stopped = stopped
        self.version += 1

    @property
    def rounds_done(self) -> int:
        return min((self.finished_runs.get(s, 0) for s in self.order), default=0)

    @property
    def shown(self) -> RunView | None:
        """The run drawn in the lanes: the one picked with ←/→, else the live one, else the last."""
        if self.viewing is not None:
            return self.runs[self.viewing]
        if self.current is not None:
            return self.runs[self.current]
        ran = [self.runs[s] for s in self.order if self.runs[s].state != "queued"]
        return ran[-1] if ran else None

    def view(self, step: int) -> None:
        """Flip the lanes to the previous/next planned run (queued ones show as empty)."""
        shown = self.shown
        index = self.order.index(shown.strategy) if shown is not None else 0
        self.viewing = self.order[(index + step) % len(self.order)]
        self.version += 1

    @property
    def results(self) -> dict[str, Event]:
        """strategy -> what the verdict judges: the summaries, else each run's result."""
        if self.summaries:
            return dict(self.summaries)
        return {s: r.result for s, r in self.runs.items() if r.state == "done" and r.result}

    @property
    def span(self) -> float:
        """One time axis for every run, so a faster run is visibly shorter."""
        longest = max(
            (max(r.shown_s, r.wall_s or 0.0) for r in self.runs.values() if r.state != "queued"),
            default=0.0,
        )
        return nice_span(max(longest, 0.5))
