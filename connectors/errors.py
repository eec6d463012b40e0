"""The one error type connectors raise: it names the source, where (file / object / page) and what."""

from __future__ import annotations


class SourceError(Exception):
    """Bad or unreachable input. Message: ``<source>: <where>: <problem>``; never holds secrets.

    `status` is the HTTP status when the failure was an HTTP answer (lets a caller react to a 400
    without parsing the message); None otherwise.
    """

    def __init__(self, source: str, where: str, problem: str, *, status: int | None = None):
        self.source, self.where, self.problem, self.status = source, where, problem, status
        super().__init__(f"{source}: {where}: {problem}")
