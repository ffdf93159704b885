"""Structured JSON logs (Powertools Logger) on stderr, so stdout stays the command's output.

Every pipeline line carries ``run_id`` and, for article work, ``article_id``. The level comes from
``POWERTOOLS_LOG_LEVEL`` (default INFO); the CLI shows only errors unless ``-v`` is given
(its summary already lists failures).
"""

from __future__ import annotations

import sys

from aws_lambda_powertools import Logger

logger = Logger(service="ntv-archive", stream=sys.stderr, utc=True)
