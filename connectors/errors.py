"""The one error type connectors raise: it names the source, where (file / object / page) and what."""


class SourceError(Exception):
    """Bad or unreachable input. Message: ``<source>: <where>: <problem>``; never holds secrets."""

    def __init__(self, source: str, where: str, problem: str):
        self.source, self.where, self.problem = source, where, problem
        super().__init__(f"{source}: {where}: {problem}")
