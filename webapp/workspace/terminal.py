"""An agent's pseudo-terminal: a process on the slave side of a new PTY, in its own session and
process group, its input written without blocking the worker."""

from __future__ import annotations

import os
import select
import signal
import time


class AgentBusy(Exception):
    """The agent reads no input: its terminal's buffer stays full."""


class Terminal:
    """A process on the slave side of a new pseudo-terminal, in its own session and process group
    (signals go to the group). The standard library's subprocess, so gevent's cooperative one under
    gunicorn: ptyprocess forks in a way that hangs a gevent worker."""

    def __init__(self, command: list[str], *, cwd: str, env: dict, rows: int, cols: int):
        import subprocess

        self.fd, slave = os.openpty()
        os.set_blocking(self.fd, False)  # a write to an agent that reads nothing must not stall the worker
        try:
            self._size(slave, rows, cols)
            self.popen = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                                          start_new_session=True, close_fds=True)
        except BaseException:
            os.close(self.fd)
            raise
        finally:
            os.close(slave)
        self._watcher = None  # gevent's: kept for every wait, cheaper than select() each time

    def read(self, size: int, timeout: float) -> bytes:
        """What the agent printed (at most `size` bytes), waiting at most `timeout` seconds for it:
        b"" when nothing came; OSError (EIO) once it closed the terminal."""
        try:
            return os.read(self.fd, size)
        except BlockingIOError:  # nothing yet (under load, there mostly is: no wait, no switch)
            pass
        if not self.readable(timeout):
            return b""
        try:
            return os.read(self.fd, size)
        except BlockingIOError:
            return b""

    def readable(self, timeout: float) -> bool:
        """Whether there is output to read, waiting at most `timeout` seconds (cooperatively)."""
        from gevent import monkey

        if not monkey.is_module_patched("select"):
            return bool(select.select([self.fd], [], [], timeout)[0])
        from gevent import Timeout
        from gevent.hub import get_hub

        hub = get_hub()
        if self._watcher is None:
            self._watcher = hub.loop.io(self.fd, 1)
        with Timeout(timeout, False):
            hub.wait(self._watcher)
            return True
        return False

    @staticmethod
    def _size(fd: int, rows: int, cols: int) -> None:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def write(self, data: bytes, timeout: float = 5) -> None:
        """All of `data`, waiting (cooperatively) while the terminal's input buffer is full; an agent
        that takes nothing for `timeout` seconds is AgentBusy."""
        deadline = time.monotonic() + timeout
        while data:
            try:
                data = data[os.write(self.fd, data):]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [self.fd], [], left)[1]:
                    raise AgentBusy from None

    def setwinsize(self, rows: int, cols: int) -> None:
        self._size(self.fd, rows, cols)
        self.kill(signal.SIGWINCH)

    def kill(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def isalive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self, force: bool = False) -> None:
        self.kill(signal.SIGTERM)
        if force:
            for _ in range(20):
                if not self.isalive():
                    return
                time.sleep(0.05)
            self.kill(signal.SIGKILL)

    @property
    def exitstatus(self) -> int | None:
        return self.popen.returncode

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
        fd, self.fd = self.fd, -1  # a closed number may be reused by another file: never write to it again
        try:
            os.close(fd)
        except OSError:
            pass
