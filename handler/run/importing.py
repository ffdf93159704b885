"""The import use case: seed the archive from WARC/ARC files other crawlers wrote (CC-NEWS, a
newsroom's own crawls), local or on S3, streamed one record at a time.

Every ``response`` record of an allowlisted article URL in the section is extracted with the
same site rules as a live page (the layouts of past years included), with the record's
WARC-Date as its fetch time and the record itself as its capture. Re-importing writes nothing
(same content, same version); a capture older than the archived version with other content is
skipped. Each source reports what it held: records by verdict, pages archived, and whether the
file ended early.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from handler.core.aws import aws_client
from handler.core.errors import ArchiveError
from handler.core.log import logger
from handler.ingest.allowlist import HostAllowlist
from handler.ingest.sitemap import in_section
from handler.ingest.warcs import (
    ImportedRecord,
    MalformedRecordError,
    TruncatedArchiveError,
    next_record_start,
    records,
)
from handler.run.article import archive_capture
from handler.run.context import RunContext
from handler.run.outcomes import ArticleOutcome, RunSummary

MAX_MALFORMED = 1000  # per file: past this, it is no WARC file at all


class ImportSourceError(ArchiveError):
    """A source that cannot be opened (no such file, no such S3 object, no access)."""


@dataclass
class SourceReport:
    """What one file held and what became of it."""

    source: str
    records: Counter[str] = field(default_factory=Counter)  # by verdict (see ingest/warcs.py)
    error: str | None = None  # the file could not be opened, or ended inside a record

    def to_dict(self) -> dict[str, Any]:
        said: dict[str, Any] = {"source": self.source, "records": sum(self.records.values()),
                                **dict(sorted(self.records.items()))}  # fmt: skip
        return {**said, "error": self.error} if self.error else said


def import_sources(ctx: RunContext, sources: list[str], section: str | None) -> RunSummary:
    """Import each source in turn; one bad file never stops the others."""
    with ctx.summarised(None) as summary:
        for source in sources:
            report = SourceReport(source)
            summary.outcomes += import_source(ctx, source, section, ctx.site_hosts, report)
            summary.sources.append(report.to_dict())
        summary.items = len(summary.outcomes)
    return summary


def import_source(
    ctx: RunContext,
    source: str,
    section: str | None,
    allowlist: HostAllowlist,
    report: SourceReport,
) -> list[ArticleOutcome]:
    """One file, record by record. A malformed record is counted and the file read on from
    the next record boundary; a file that ends inside a record keeps what came before."""
    outcomes: list[ArticleOutcome] = []
    position: int | None = 0
    gzipped: bool | None = None
    try:
        while position is not None:
            try:
                with opened(source, position) as stream:
                    for record in records(stream, allowlist, ctx.settings.fetch.max_bytes,
                                          start=position):  # fmt: skip
                        if not _take(ctx, record, section, report, outcomes):
                            return outcomes  # out of time
                position = None
            except MalformedRecordError as exc:
                report.records["malformed"] += 1
                logger.warning("malformed record skipped", extra={"run_id": ctx.run_id,
                               "source": source, "reason": str(exc)})  # fmt: skip
                if report.records["malformed"] > MAX_MALFORMED:
                    raise TruncatedArchiveError(f"more than {MAX_MALFORMED} malformed records: "
                                                "not a WARC file?") from exc  # fmt: skip
                if gzipped is None:  # sniffed once, at the first malformed record
                    with opened(source) as head:
                        gzipped = head.read(2) == b"\x1f\x8b"
                with opened(source, exc.offset + 1) as rest:
                    position = next_record_start(rest, gzipped, exc.offset + 1)
    except (TruncatedArchiveError, ImportSourceError) as exc:
        report.error = f"{source}: {exc}"
        said = {"run_id": ctx.run_id, "source": source, "reason": str(exc)}
        logger.warning("import source cut short", extra=said)
    return outcomes


def _take(
    ctx: RunContext,
    record: ImportedRecord,
    section: str | None,
    report: SourceReport,
    outcomes: list[ArticleOutcome],
) -> bool:
    """Count one record and archive it when it is a page of the section; False when the
    invocation's time ran out (the import stops there, said in the report)."""
    if record.verdict != "page":
        report.records[record.verdict] += 1
        return True
    assert record.response is not None and record.capture is not None
    if not in_section(record.response.url, section):
        report.records["other_section"] += 1
        return True
    outcome = archive_capture(ctx, record.response, record.capture)
    report.records[f"page_{outcome.status}"] += 1
    outcomes.append(outcome)
    ctx.ticker.tick(outcome)
    if outcome.status == "deferred":
        report.error = "stopped: the invocation's time ran out (import again)"
        return False
    return True


@contextmanager
def opened(source: str, start: int = 0) -> Iterator[IO[bytes]]:
    """A local file or an ``s3://bucket/key`` object as a stream from byte ``start`` (never
    read whole)."""
    if source.startswith("s3://"):
        bucket, _, key = source.removeprefix("s3://").partition("/")
        if not bucket or not key:
            raise ImportSourceError(f"{source}: expected s3://bucket/key")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            ranged = {"Range": f"bytes={start}-"} if start else {}
            body = aws_client("s3").get_object(Bucket=bucket, Key=key, **ranged)["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise ImportSourceError(f"cannot read it ({exc})") from exc
        try:
            yield body
        finally:
            body.close()
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115, PTH123 (a path from the command line)
    except OSError as exc:
        raise ImportSourceError(exc.strerror or str(exc)) from exc
    with handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # /dev/zero, a pipe: no end
            raise ImportSourceError("not a regular file (a device, pipe or folder)")
        handle.seek(start)
        yield handle
