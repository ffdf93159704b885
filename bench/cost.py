"""Monthly cost of the default schedule, from measured figures and documented price inputs.

Inputs (AWS list prices, us-east-1, as published when this was written; change them here):
Lambda arm64 $0.0000133334 per GB-second and $0.20 per million requests; S3 Standard PUT/LIST
$0.005 per 1,000, GET $0.0004 per 1,000. Storage and data transfer are left out (a few GB a
year of JSON and WARC). The figures come from bench/runs.py and bench/cold_start.py of the same
run; the model's assumptions are printed with the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000
MEMORY_GB = 1.0  # the template's default MemorySize (1024 MB)
POLLS_PER_MONTH = 6 * 24 * 30  # every 10 minutes
NEW_PER_DAY = 100
REVISITS_PER_ARTICLE = 6  # the default steps: 30m, 2h, 6h, 24h, 3d, 7d
FEED_ITEMS = 50  # what a changed poll re-fetched before the revisit schedule


@dataclass(frozen=True)
class Month:
    label: str
    invocations: int
    http_requests: int
    s3_gets: int
    s3_puts: int
    gb_seconds: float

    @property
    def dollars(self) -> float:
        return (
            self.invocations * LAMBDA_REQUEST
            + self.gb_seconds * LAMBDA_GB_SECOND
            + self.s3_gets * S3_GET
            + self.s3_puts * S3_PUT
        )


def months(figures: dict[str, Any]) -> list[Month]:
    """Idle month (the feed never changes) and a month with 100 new articles a day."""
    cold_start_s = figures["import_app_ms"] / 1000  # assume every invocation starts cold
    idle_s = figures["idle_ms_after_imports"] / 1000 + cold_start_s
    idle = Month(
        "idle (feed unchanged)",
        invocations=POLLS_PER_MONTH,
        http_requests=POLLS_PER_MONTH * figures["idle_http_requests"],
        s3_gets=POLLS_PER_MONTH * figures["idle_store_requests"],
        s3_puts=0,
        gb_seconds=POLLS_PER_MONTH * idle_s * MEMORY_GB,
    )
    # Per day: NEW_PER_DAY new articles fetched and stored in full (per article: one GET and
    # the writes a cold run makes, plus the schedule entry), and each one's revisits: mostly a
    # conditional GET answered 304 (bench/day.py: 590 of 600), which costs the entry's read and
    # the next entry's write, and about a poll's time.
    per_article_s = figures["cold_wall_s"] / 50
    new = NEW_PER_DAY * 30
    revisits = new * REVISITS_PER_ARTICLE
    writes_per_new = round(figures["cold_store_requests"] / 50) + 1
    busy = Month(
        "100 new articles a day",
        invocations=POLLS_PER_MONTH,
        http_requests=POLLS_PER_MONTH + new + revisits,
        s3_gets=POLLS_PER_MONTH * figures["idle_store_requests"] + new + revisits,
        # Each revisit writes the next entry; a poll with revisits due lists the schedule and
        # writes the state once (at most one of each per poll); a new item writes the state.
        s3_puts=new * writes_per_new + revisits + min(revisits, POLLS_PER_MONTH) * 2 + new,
        gb_seconds=(POLLS_PER_MONTH * idle_s + new * per_article_s + revisits * idle_s) * MEMORY_GB,
    )
    # The same month before the schedule: a live feed changes on every poll, and each changed
    # poll fetched, extracted and compared all FEED_ITEMS listed items (one store read each).
    refetches = POLLS_PER_MONTH * FEED_ITEMS
    before = Month(
        "the same, before the schedule",
        invocations=POLLS_PER_MONTH,
        http_requests=POLLS_PER_MONTH + refetches,
        s3_gets=POLLS_PER_MONTH * figures["idle_store_requests"] + refetches,
        s3_puts=new * (writes_per_new - 1) + new,
        gb_seconds=(POLLS_PER_MONTH * idle_s + refetches * per_article_s) * MEMORY_GB,
    )
    return [idle, busy, before]


def print_table(figures: dict[str, Any]) -> dict[str, float]:
    rows = months(figures)
    print("| month | invocations | HTTP requests | S3 GET | S3 PUT | GB-seconds | USD |")
    print("|---|---|---|---|---|---|---|")
    for m in rows:
        print(f"| {m.label} | {m.invocations} | {m.http_requests} | {m.s3_gets} | {m.s3_puts} | "
              f"{m.gb_seconds:.0f} | {m.dollars:.2f} |")  # fmt: skip
    print(
        "assumptions: every invocation starts cold; each new article is revisited "
        f"{REVISITS_PER_ARTICLE} times, conditionally; {MEMORY_GB:.0f} GB memory; "
        "us-east-1 list prices"
    )
    return {
        "usd_month_idle": round(rows[0].dollars, 2),
        "usd_month_100_per_day": round(rows[1].dollars, 2),
        "usd_month_100_per_day_before_schedule": round(rows[2].dollars, 2),
    }
