"""The one entry point for working on OrderCycle, with nothing but Python 3.11 installed.

    python3 dev.py run            set up, load the demo shop, start a background worker and serve the
                                  console on 127.0.0.1:8000 (PORT=8001 python3 dev.py run: another port)
    python3 dev.py test [ARGS]    set up with the test tools and run the test suite (ARGS go to pytest)
    python3 dev.py check          set up with the test tools and run the checks CI runs before the
                                  tests: ruff (lint and format), the import layers, missing migrations

All set up first: a virtualenv in .venv with requirements.txt installed into it (`run`), or
requirements-dev.txt, which adds the test tools to it (`test`, `check`); again only when a file
changed. `run` then migrates the database and loads the demo data; Ctrl+C or a plain `kill` of
dev.py stops the server and the worker. Standard library only, so it works before anything is
installed, on Linux, macOS and Windows alike."""

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
SCRIPTS, EXE = (VENV / "Scripts", ".exe") if sys.platform == "win32" else (VENV / "bin", "")
PYTHON = SCRIPTS / f"python{EXE}"
REQUIREMENTS = ROOT / "requirements.txt"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
PYTEST_NO_TESTS_COLLECTED = 5
SECONDS_TO_STOP = 10
CHECKS = [
    ("ruff (lint)", [PYTHON, "-m", "ruff", "check", "."]),
    ("ruff (format)", [PYTHON, "-m", "ruff", "format", "--check", "."]),
    ("import layers", [SCRIPTS / f"lint-imports{EXE}"]),
    ("migrations", [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"]),
]


def run(*args):
    """Run a command inside the virtualenv's Python; stop here with its exit code if it fails."""
    code = subprocess.call([str(PYTHON), *args], cwd=ROOT)
    if code:
        sys.exit(code)


def included(requirements):
    """The requirements file and every file it includes with `-r`, in the order pip reads them."""
    files = [requirements]
    for line in requirements.read_text().splitlines():
        if line.startswith(("-r ", "--requirement ")):
            files += included(requirements.parent / line.split(maxsplit=1)[1])
    return files


def set_up(requirements=REQUIREMENTS):
    """Make the virtualenv and install `requirements` into it, unless it or a file it includes is
    unchanged since the last install (each file named in .venv/<name>.sha256)."""
    if not PYTHON.exists():
        print("Creating the virtualenv in .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / f"{requirements.stem}.sha256"
    wanted = hashlib.sha256(b"".join(path.read_bytes() for path in included(requirements))).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        print(f"Installing {requirements.name} into .venv ...", flush=True)
        run("-m", "pip", "install", "--disable-pip-version-check", "-r", str(requirements))
        stamp.write_text(wanted + "\n")


def stop(processes):
    """Ask each process still running to stop, then wait for it; one that will not is killed."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(SECONDS_TO_STOP)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_until_stopped(server, helpers):
    """Start the helpers and the server, and wait for the server. However dev.py ends (the server
    stops, Ctrl+C, a plain `kill`), every one of them is stopped before it does, so none is left
    holding the port or taking work from the queue."""
    processes = []
    try:
        for command in [*helpers, server]:
            processes.append(subprocess.Popen([str(part) for part in command], cwd=ROOT))
        return processes[-1].wait()
    finally:
        stop(processes)


def serve():
    set_up()
    run("manage.py", "migrate", "--no-input")
    run("manage.py", "createcachetable")
    run("manage.py", "seed_demo")
    address = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
    print(
        f"\nOrderCycle console: http://{address}/admin/  (log in with a demo login above; Ctrl+C stops)\n", flush=True
    )
    # Notifications, big imports and exports are queued in the database; the worker runs them.
    sys.exit(
        run_until_stopped(
            server=[PYTHON, "manage.py", "runserver", address],
            helpers=[[PYTHON, "manage.py", "db_worker"]],
        )
    )


def test(pytest_args):
    set_up(DEV_REQUIREMENTS)
    code = subprocess.call([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT)
    if code == PYTEST_NO_TESTS_COLLECTED:
        print("dev.py: pytest collected no tests; that counts as a failure.", file=sys.stderr)
    sys.exit(code)


def check():
    """Run every check, even after one has failed, so one run shows all that needs fixing."""
    set_up(DEV_REQUIREMENTS)
    failed = []
    for name, command in CHECKS:
        print(f"--- {name}", flush=True)
        if subprocess.call([str(part) for part in command], cwd=ROOT):
            failed.append(name)
    if failed:
        sys.exit(f"dev.py: these checks failed: {', '.join(failed)}.")
    print("dev.py: every check passed.", flush=True)


def stop_on_sigterm(signum, frame):
    """A plain `kill` ends dev.py the way Ctrl+C does: through its cleanup, which stops whatever it
    started (the command it is waiting for, the server and the worker), instead of at once."""
    sys.exit(128 + signum)


def main(argv):
    if sys.version_info < (3, 11):
        sys.exit(f"OrderCycle needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "run" and not rest:
        serve()
    elif command == "test":
        test(rest)
    elif command == "check" and not rest:
        check()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit(130)
