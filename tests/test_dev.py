"""`python3 dev.py run`: however it is stopped, it leaves no server or worker behind holding the port."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dev

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")

# A stand-in for runserver and db_worker: says it is up by writing its process id, then waits.
STAND_IN = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
WAIT_THEN_END = (
    "import os, sys, time\nwhile not (os.path.exists(sys.argv[1]) and open(sys.argv[1]).read()): time.sleep(0.05)\n"
    "raise SystemExit(3)"
)
# dev.py's `run`, with stand-ins for the server and the worker.
DEV_RUN = """
import signal, sys
sys.path.insert(0, {root!r})
import dev
# As in a terminal, even where this test itself was started in the background with SIGINT ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, dev.stop_on_sigterm)
try:
    dev.run_until_stopped(
        server=[sys.executable, "-c", {stand_in!r}, {server!r}],
        helpers=[[sys.executable, "-c", {stand_in!r}, {worker!r}]],
    )
except KeyboardInterrupt:
    sys.exit(130)
"""


def running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s in vain")
        time.sleep(0.05)


def started_dev_run(tmp_path):
    server, worker = tmp_path / "server.pid", tmp_path / "worker.pid"
    script = DEV_RUN.format(root=str(dev.ROOT), stand_in=STAND_IN, server=str(server), worker=str(worker))
    process = subprocess.Popen([sys.executable, "-c", script])
    wait_for(lambda: all(path.exists() and path.read_text() for path in (server, worker)))
    return process, [int(Path(path).read_text()) for path in (server, worker)]


@pytest.mark.parametrize(("stop_signal", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_plain_kill_stops_the_server_and_the_worker_as_ctrl_c_does(tmp_path, stop_signal, exit_code):
    process, children = started_dev_run(tmp_path)
    try:
        assert all(running(pid) for pid in children)

        process.send_signal(stop_signal)

        assert process.wait(timeout=30) == exit_code
        assert not any(running(pid) for pid in children)
    finally:
        process.kill()
        for pid in children:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def test_when_the_server_stops_the_worker_is_stopped_too(tmp_path):
    worker_pid = tmp_path / "worker.pid"
    # The server ends once the worker is up.
    server = [sys.executable, "-c", WAIT_THEN_END, worker_pid]

    code = dev.run_until_stopped(server=server, helpers=[[sys.executable, "-c", STAND_IN, worker_pid]])

    assert code == 3
    assert not running(int(worker_pid.read_text()))


def test_the_test_command_installs_the_test_tools_and_its_stamp_covers_both_files():
    assert dev.included(dev.DEV_REQUIREMENTS) == [dev.DEV_REQUIREMENTS, dev.REQUIREMENTS]
    assert dev.included(dev.REQUIREMENTS) == [dev.REQUIREMENTS]
    production = dev.REQUIREMENTS.read_text().lower()
    assert not any(tool in production for tool in ("pytest", "playwright", "schemathesis", "ruff", "import-linter"))
