"""A child process that checks and stages one file for the node, off the node's event loop.

Parsing a large file is seconds of CPU work; inside the node's process it would hold the
event loop (or, in a thread, the GIL) and every request would wait behind it. The runner
(runner.ImportJobs) pipes the file to this process, which runs staging.stage_file on its
own connection and reports on stdout, one JSON object per line:
``{"read": n, "total": t}`` while reading, then ``{"staged": {...}}`` or
``{"refused": {"errors": [...], "count": n}}`` or ``{"unreadable": "reason"}``.

    RISAI_IMPORT_DSN=... python -m service.imports.stage_worker KIND --job-id ID [--staff-id S] [--encoding E] < FILE

The DSN comes in the environment, not the command line, where `ps` would show its password.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from typing import Any

import asyncpg

from service.imports.staging import Staged, stage_file
from service.imports.stream import CsvError, CsvImportError

DSN_VARIABLE = "RISAI_IMPORT_DSN"


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


async def _stage(args: argparse.Namespace, data: bytes) -> None:
    conn = await asyncpg.connect(os.environ[DSN_VARIABLE])
    try:
        staged = await stage_file(conn, args.kind, data, staff_id=args.staff_id, job_id=args.job_id,
                                  encoding=args.encoding,
                                  progress=lambda done, total: _emit({"read": done, "total": total}))
        _emit({"staged": dataclasses.asdict(staged)})
    except CsvImportError as exc:
        _emit({"refused": {"errors": [e.to_dict() for e in exc.errors], "count": exc.error_count}})
    except (LookupError, ValueError) as exc:  # unknown encoding name
        _emit({"unreadable": str(exc)})
    finally:
        await conn.close()


def outcome(message: dict[str, Any]) -> Staged:
    """The parent's side: the last line as a Staged, or the error stage_file raised."""
    if "staged" in message:
        return Staged(**message["staged"])
    if "refused" in message:
        errors = [CsvError(**e) for e in message["refused"]["errors"]]
        raise CsvImportError(errors, message["refused"]["count"])
    raise ValueError(message.get("unreadable", "the staging process stopped without a result"))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process (the file on stdin)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("residents", "dwellings", "surveys"))
    parser.add_argument("--job-id", required=True)
    parser.add_argument("--staff-id")
    parser.add_argument("--encoding")
    args = parser.parse_args(argv)
    asyncio.run(_stage(args, sys.stdin.buffer.read()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
