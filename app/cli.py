"""The backprop-circuits command: `serve` the app, `check` its settings, `lessons check` a folder of lessons, or `eval` one circuit in the terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from app.core.errors import ProblemError


def _parse_assignment(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a number or JSON list") from exc


def _table(report: dict[str, Any]) -> str:
    rows = [("node", "kind", "wire", "value", "grad")]
    for node in report["nodes"]:
        wire = node["label"] or node["text"] or node["symbol"]
        rows.append(
            (node["id"], node["op"] or node["kind"], wire, str(node["value"]), str(node["grad"]))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    lines.append(f"output = {report['output']['value']}")
    for step in report["backward"]:
        lines.append(f"step {step['index']}: {step['rule']}")
    for warning in report["warnings"]:
        lines.append(f"warning: {warning['msg']}")
    return "\n".join(lines)


def _check_lessons(folder: str) -> int:
    """`lessons check DIR`: the folder's lessons under the configured limits (BPC_ variables),
    their circuits run, and their ids checked against the built-in ones."""
    from app.core.config import Settings
    from app.core.limits import Limits
    from app.lessons import LessonsError, check_folder

    try:
        lessons, problems = check_folder(folder, Limits.from_settings(Settings()))
    except LessonsError as exc:  # a built-in lesson is broken: a bug, but say where
        lessons, problems = [], exc.problems
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{len(lessons)} lesson{'s' if len(lessons) != 1 else ''} OK")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backprop-circuits", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web app (uvicorn, hardened: app/serve.py)")
    serve.add_argument("--host", default=os.environ.get("BPC_HOST", "127.0.0.1"))
    serve.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", os.environ.get("BPC_PORT", 8000)))
    )
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 1)))
    serve.add_argument(
        "--timeout-keep-alive", type=int, default=int(os.environ.get("TIMEOUT_KEEP_ALIVE", 5))
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="proxies whose X-Forwarded-For is trusted for the client address",
    )

    sub.add_parser(
        "check",
        help="check the settings (BPC_ variables), origins, presets file and lessons, as `serve` "
        "does before it starts; exit 1 naming each problem",
    )

    lessons = sub.add_parser("lessons", help="lesson files (docs/lessons.md)")
    lessons_sub = lessons.add_subparsers(dest="lessons_command", required=True)
    lessons_check = lessons_sub.add_parser(
        "check",
        help="check a folder of lesson files as the server loads BPC_LESSONS_DIR; print each "
        "problem as file:line: reason and exit 1, or 'N lessons OK'",
    )
    lessons_check.add_argument("folder")

    ev = sub.add_parser("eval", help="evaluate one circuit and print every wire")
    ev.add_argument("expression")
    ev.add_argument("inputs", nargs="*", type=_parse_assignment, metavar="name=value")
    ev.add_argument("--json", action="store_true", help="print the API's JSON")
    ev.add_argument("--output-grad", type=float, default=1.0)
    ev.add_argument("--tie-break", choices=["split", "first"], default="split")
    ev.add_argument("--gradcheck", action="store_true")

    args = parser.parse_args(argv)
    if args.command == "lessons":
        return _check_lessons(args.folder)
    if args.command in ("serve", "check"):
        from app.startup import problems

        # before any worker is forked: a bad file or setting stops here once, naming itself,
        # instead of every worker failing and being respawned
        found = problems()
        for line in found:
            print(f"backprop-circuits: {line}", file=sys.stderr)
        if found:
            return 1
        if args.command == "check":
            print("backprop-circuits: settings, origins, presets file and lessons are ready")
            return 0
    if args.command == "serve":
        from app.serve import serve as run_server

        run_server(
            args.host,
            args.port,
            workers=args.workers,
            timeout_keep_alive=args.timeout_keep_alive,
            forwarded_allow_ips=args.forwarded_allow_ips,
        )
        return 0

    from app.engine import evaluate

    try:
        report = evaluate(
            args.expression,
            dict(args.inputs),
            output_grad=args.output_grad,
            tie_break=args.tie_break,
            gradcheck_=args.gradcheck,
        )
    except ProblemError as exc:
        for problem in exc.problems:
            print(f"error: {problem.msg}", file=sys.stderr)
            if problem.excerpt is not None:
                print(f"  {problem.excerpt}\n  {problem.extra.get('caret', '')}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else _table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
