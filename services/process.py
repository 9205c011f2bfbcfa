"""Helpers to run a server detached: pid files, ports, waiting, stopping, log tails."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from services.exceptions import ServiceError

logger = logging.getLogger(__name__)

_POLL_S = 0.25

_children: dict[int, subprocess.Popen[bytes]] = {}
"""Servers this process launched, kept so that their exit status can be collected."""


def read_pid(pid_file: Path) -> int | None:
    """The process id written in `pid_file`, or None when it is absent or garbled."""
    try:
        first_line = pid_file.read_text().splitlines()[0]
        return int(first_line.strip())
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _reap(pid: int) -> None:
    """Collect the exit status of `pid` if this process launched it and it ended."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def process_alive(pid: int, marker: str | None = None) -> bool:
    """Whether process `pid` runs and, given a `marker`, its command line holds it.

    The marker guards against a stale pid file whose number now belongs to an
    unrelated process.
    """
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path("/proc") / str(pid)
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
        if marker is not None:
            return marker in _command_line(proc)
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return True


def _command_line(proc: Path) -> str:
    """The command line of the process at /proc/<pid>, arguments joined by spaces.

    NOTE: it reads empty for an instant while the process execs, so an empty
    read is tried again before it is believed.
    """
    for _ in range(20):
        raw = (proc / "cmdline").read_bytes()
        if raw:
            return raw.replace(b"\0", b" ").decode(errors="replace")
        time.sleep(0.005)
    return ""


def running_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in `pid_file` when that process still runs `marker`, else None."""
    pid = read_pid(pid_file)
    if pid is None or not process_alive(pid, marker):
        return None
    return pid


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on `host`:`port`.

    Raises:
        OSError: when the address cannot be bound for another reason, such as a
            host that is not an address of this machine.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that nothing listens on right now.

    For stacks of their own (tests, benchmarks) beside one on the default ports.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def require_free_port(service: str, host: str, port: int, variable: str) -> None:
    """Fail when another process already holds `host`:`port`.

    Raises:
        ServiceError: naming the port and the variable that moves the service, or
            saying that `host` is not an address of this machine.
    """
    try:
        taken = port_taken(host, port)
    except OSError as error:
        raise ServiceError(
            service,
            f"cannot listen on {host}:{port} ({error.strerror}): set its host to an "
            "address of this machine, such as 127.0.0.1",
        ) from error
    if taken:
        raise ServiceError(
            service,
            f"port {host}:{port} is already taken by another process: stop that "
            f"process, or give {service} another port with {variable}=<port>",
        )


def launch(
    command: Sequence[str],
    *,
    log_file: Path,
    pid_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start `command` detached in its own session and record its pid.

    Its standard output and error go to `log_file`, appended; its pid goes to
    `pid_file`.

    Returns:
        The pid of the new process, also the id of its process group.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    _children[process.pid] = process
    pid_file.write_text(f"{process.pid}\n")
    return process.pid


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    *,
    still_starting: Callable[[], bool] | None = None,
) -> bool:
    """Call `check` until it returns True or `timeout` seconds pass.

    Args:
        check: Returns True once the condition holds.
        timeout: Longest wait in seconds.
        still_starting: Returns False when waiting longer is pointless, such as
            when the server process has exited.

    Returns:
        Whether the condition came to hold.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if still_starting is not None and not still_starting():
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


def _signal_group(pid: int, signum: int) -> None:
    """Send `signum` to the process group that `pid` leads, else to `pid` alone."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    except PermissionError:
        os.kill(pid, signum)


def stop_process(name: str, pid: int, marker: str, timeout: float) -> None:
    """Stop `pid` and its process group: SIGTERM, then SIGKILL after `timeout`.

    Raises:
        ServiceError: when the process survives SIGKILL.
    """
    if not process_alive(pid, marker):
        return
    logger.info("stopping %s (pid %d)", name, pid)
    _signal_group(pid, signal.SIGTERM)

    def gone() -> bool:
        # NOTE: without the marker: an exiting process's command line reads empty.
        return not process_alive(pid)

    if wait_until(gone, timeout):
        return
    logger.warning(
        "%s (pid %d) did not stop within %.0f s of SIGTERM: sending SIGKILL",
        name,
        pid,
        timeout,
    )
    _signal_group(pid, signal.SIGKILL)
    if not wait_until(gone, 10):
        raise ServiceError(
            name, f"process {pid} survived SIGKILL: check it with `ps -p {pid}`"
        )


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of the text file at `path`, or "" when it is absent."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
