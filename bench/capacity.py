#!/usr/bin/env python3
"""The capacity model behind docs/scaling.md: feeds and versions/day -> load, cost, limits.

    python3 bench/capacity.py

Inputs are stated below; change them and rerun. Measured on this project's machine:
per-article CPU (bench/runs.py: 1.76 s CPU for 50 real 730 KB pages = 35 ms) and the requests
one article version costs (tests and bench/runs.py). Assumed: 150 ms per ntv.de response,
Lambda at 1024 MB has 0.58 vCPU (1769 MB = 1 vCPU), a peak hour at 3x the daily average.
Prices: us-east-1 list prices (Lambda arm64, S3 Standard, SQS FIFO, EventBridge custom events).
"""

from __future__ import annotations

import math

CPU_PER_ARTICLE_S = 0.035  # measured, one vCPU
VCPU_AT_1GB = 1024 / 1769
LATENCY_S = 0.150
WORKER_CONCURRENCY = 8  # articles fetched at once in one worker invocation
BATCH = 10
POLLS_PER_DAY = 6 * 24
PEAK = 3.0
S3_PUT_PER_VERSION = 3 + 2 / BATCH  # WARC, document (CAS), id pointer; manifest PUT per batch
S3_GET_PER_VERSION = 1 + 1 / BATCH  # current document; manifest GET per batch
PRICE = {"gb_s": 0.0000133334, "lambda_req": 0.2e-6, "s3_put": 0.005e-3, "s3_get": 0.0004e-3,
         "sqs_fifo_req": 0.5e-6, "event": 1.0e-6}  # fmt: skip
MANIFEST_LINE_BYTES = 300
S3_PREFIX_PUT_PER_S = 3500


def batch_seconds() -> float:
    """A worker batch: fetches overlap 8 at a time, CPU does not (one process, 0.58 vCPU)."""
    latency = math.ceil(BATCH / WORKER_CONCURRENCY) * LATENCY_S
    return max(latency, BATCH * CPU_PER_ARTICLE_S / VCPU_AT_1GB)


def row(feeds: int, versions_per_day: int) -> dict[str, float]:
    per_s = versions_per_day / 86400
    peak_per_s = per_s * PEAK
    batch_s = batch_seconds()
    per_worker_per_s = BATCH / batch_s
    workers_at_peak = math.ceil(peak_per_s / per_worker_per_s)
    poll_s = math.ceil(feeds / WORKER_CONCURRENCY) * LATENCY_S + 0.2
    batches = versions_per_day / BATCH
    gb_s = POLLS_PER_DAY * poll_s + batches * batch_s
    s3_put = versions_per_day * S3_PUT_PER_VERSION + POLLS_PER_DAY * feeds * 0.1  # state writes
    s3_get = versions_per_day * S3_GET_PER_VERSION + POLLS_PER_DAY * feeds  # feed state reads
    sqs = versions_per_day * (1 / BATCH + 1 / BATCH + 1 / BATCH)  # send, receive, delete batches
    dollars_month = 30 * (
        gb_s * PRICE["gb_s"] + (POLLS_PER_DAY + batches) * PRICE["lambda_req"]
        + s3_put * PRICE["s3_put"] + s3_get * PRICE["s3_get"] + sqs * PRICE["sqs_fifo_req"]
        + versions_per_day * PRICE["event"]
    )  # fmt: skip
    manifest_mb = versions_per_day * MANIFEST_LINE_BYTES / 1e6
    return {
        "feeds": feeds,
        "versions_day": versions_per_day,
        "peak_per_s": peak_per_s,
        "workers_at_peak": workers_at_peak,
        "poll_s": poll_s,
        "s3_put_peak_per_s": peak_per_s * S3_PUT_PER_VERSION,
        "manifest_mb_end_of_day": manifest_mb,
        "manifest_transfer_gb_day": batches * manifest_mb / 2 * 2 / 1000,  # GET + PUT, mean size
        "usd_month": dollars_month,
    }


def main() -> int:
    print(f"worker: {BATCH / batch_seconds():.1f} versions/s per concurrent invocation at 1 GB")
    print(
        "| feeds | versions/day | peak/s | workers at peak | poll (s) | S3 PUT/s at peak "
        "| manifest at day end | manifest traffic/day | USD/month |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for feeds, versions in ((1, 300), (50, 5_000), (1000, 50_000), (1000, 1_000_000)):
        r = row(feeds, versions)
        print(f"| {feeds} | {versions:,} | {r['peak_per_s']:.1f} | {r['workers_at_peak']} "
              f"| {r['poll_s']:.1f} | {r['s3_put_peak_per_s']:.0f} (limit {S3_PREFIX_PUT_PER_S}) "
              f"| {r['manifest_mb_end_of_day']:.1f} MB | {r['manifest_transfer_gb_day']:,.1f} GB "
              f"| {r['usd_month']:,.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
