"""One writer per home: an advisory `flock` on `$AISPEND_HOME/.aispend.lock`.

`aispend run` (and so `aispend demo`) holds it exclusively from start to end; the holder's PID,
command and start time are written into the file so a second run can say who it is waiting for.
Dagster-launched runs on the same home take it per step: ingest steps shared (a run's parallel
ingest steps run side by side), the `warehouse` pool steps (dbt build, publish) exclusively; a step
that finds the home busy fails at once with the holder's line. The kernel drops the lock when the
holding process dies, however it dies (kill -9 included): a crashed run never blocks the next.

Read-only commands (`sql`, `describe`, `alert`) and `whatif` (reads the published file, which is
replaced by rename, and writes its own copy) do not take it.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

LOCK_NAME = ".aispend.lock"
EXIT_BUSY = 75  # sysexits EX_TEMPFAIL: try again later (or with --wait)

# realpath(home) -> mode held by this process: `aispend run` executes its Dagster steps in its own
# process, and flock locks taken on a second descriptor of the same file would conflict with it.
_HELD: dict[str, int] = {}


class HomeBusy(RuntimeError):
    """Another process holds the home; the message is one line naming it."""


def lock_path(home: Path) -> Path:
    return Path(home) / LOCK_NAME


def _holder(fd: int) -> str:
    text = os.pread(fd, 512, 0).decode(errors="replace").strip()
    return text or "a process that has not written its name yet"


@contextlib.contextmanager
def home_lock(home: Path, what: str, *, exclusive: bool = True, wait: bool = False,
              on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the home for `what` (e.g. "aispend run"); HomeBusy at once if another process holds it,
    or, with `wait`, block until it is released (`on_wait(holder)` is called first)."""
    home = Path(home)
    key = os.path.realpath(home)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    if key in _HELD and (_HELD[key] == fcntl.LOCK_EX or mode == fcntl.LOCK_SH):
        yield  # this process already holds it (a run's own steps)
        return
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(home), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise HomeBusy(f"{home} is in use by {holder}; nothing was done (wait for it: --wait)") from None
            if on_wait:
                on_wait(holder)
            fcntl.flock(fd, mode)
        if exclusive:  # shared holders leave the exclusive holder's line alone
            started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{what} (PID {os.getpid()}, started {started})\n".encode(), 0)
        _HELD[key] = mode
        try:
            yield
        finally:
            del _HELD[key]
            if exclusive:
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def holds(home: Path) -> bool:
    """Whether this process holds the home (exclusively or shared)."""
    return os.path.realpath(home) in _HELD


def holding_home(*, exclusive: bool):
    """Decorator for an asset body (a generator taking `context` and the `aispend` resource): the step
    holds the home while it runs; a busy home fails the step at once naming the holder."""
    def wrap(fn):
        @functools.wraps(fn)  # Dagster reads the parameters (resources) through __wrapped__
        def step(context, *args, **kwargs):
            import dagster as dg

            aispend = kwargs.get("aispend") or context.resources.aispend
            with contextlib.ExitStack() as stack:
                try:
                    stack.enter_context(home_lock(aispend.load().home, f"Dagster run {context.run_id}",
                                                  exclusive=exclusive))
                except HomeBusy as e:
                    raise dg.Failure(description=str(e), allow_retries=False) from None
                yield from fn(context, *args, **kwargs)
        return step
    return wrap
