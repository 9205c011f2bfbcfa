"""The PostgreSQL installation: Debian's binaries, found or installed with apt-get."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from services.exceptions import ServiceError

logger = logging.getLogger(__name__)

DEBIAN_ROOT = Path("/usr/lib/postgresql")
"""Where Debian's packages put the binaries of each major version, in <ver>/bin."""


def find_binaries(version: str | None = None) -> Path | None:
    """The folder holding pg_ctl and initdb, or None when there is none.

    Looks in /usr/lib/postgresql/<ver>/bin, the major `version` of an existing
    cluster first and then the newest, then on PATH, then inside the `pgserver`
    package when it is installed.
    """
    candidates: list[Path] = []
    if version is not None:
        candidates.append(DEBIAN_ROOT / version / "bin")
    if DEBIAN_ROOT.is_dir():
        versions = [p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()]
        versions.sort(key=lambda p: int(p.name), reverse=True)
        candidates += [p / "bin" for p in versions]
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    try:
        import pgserver  # type: ignore[import-not-found]

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    for folder in candidates:
        if (folder / "pg_ctl").exists() and (folder / "initdb").exists():
            return folder
    return None


def install_binaries() -> Path:
    """Install Debian's `postgresql` package when we are root, and return its bin.

    Debian's package may also create and start a cluster of its own on port
    5432; the project's cluster lives in data_dir and listens on its own port.

    Raises:
        ServiceError: when not root, apt-get is missing, or the install fails.
    """
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ServiceError(
            "postgres",
            "no PostgreSQL binaries (pg_ctl, initdb) in /usr/lib/postgresql/*/bin "
            "or on PATH: install them (sudo apt-get install -y postgresql), or set "
            "ELECTION_DATABASE_URL to an existing database",
        )
    logger.info("installing PostgreSQL with apt-get: no binaries on this machine")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, check=False
        )
        if result.returncode != 0:
            raise ServiceError(
                "postgres",
                f"`{' '.join(command)}` failed with exit {result.returncode}: run it "
                "by hand to see why, or set ELECTION_DATABASE_URL",
                log_tail="\n".join(result.stderr.splitlines()[-20:]),
            )
    folder = find_binaries()
    if folder is None:
        raise ServiceError(
            "postgres",
            f"apt-get installed postgresql but no pg_ctl appeared in {DEBIAN_ROOT}: "
            "check `dpkg -L postgresql`",
        )
    return folder
