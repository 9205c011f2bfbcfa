"""Serve the dashboard with gunicorn: `python -m dashboard [more gunicorn options]`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> NoReturn:
    """Replace this process by gunicorn with `dashboard.gunicorn_conf` and `argv`.

    Args:
        argv: More gunicorn options, such as `--bind 0.0.0.0:8050`; they win over
            the config module.
    """
    env = dict(os.environ)
    paths = [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    command = [sys.executable, "-m", "gunicorn"]
    command += ["--config", "python:dashboard.gunicorn_conf", *argv]
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
