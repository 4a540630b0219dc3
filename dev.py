"""The one entry point for working on OrderCycle, with nothing but Python 3.11 installed.

    python3 dev.py run            set up, load the demo shop, start a background worker and serve the
                                  console on 127.0.0.1:8000
    python3 dev.py test [ARGS]    set up and run the test suite (ARGS go to pytest)

Both set up first: a virtualenv in .venv with requirements.txt installed into it (again only when
the file changed); `run` then migrates the database and loads the demo data. Standard library
only, so it works before anything is installed, on Linux, macOS and Windows alike."""

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / "requirements.sha256"
CONSOLE_URL = "http://127.0.0.1:8000/admin/"
PYTEST_NO_TESTS_COLLECTED = 5


def run(*args):
    """Run a command inside the virtualenv's Python; stop here with its exit code if it fails."""
    code = subprocess.call([str(PYTHON), *args], cwd=ROOT)
    if code:
        sys.exit(code)


def set_up():
    if not PYTHON.exists():
        print("Creating the virtualenv in .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("Installing requirements.txt into .venv ...", flush=True)
        run("-m", "pip", "install", "--disable-pip-version-check", "-r", str(REQUIREMENTS))
        STAMP.write_text(wanted + "\n")


def serve():
    set_up()
    run("manage.py", "migrate", "--no-input")
    run("manage.py", "createcachetable")
    run("manage.py", "seed_demo")
    print(f"\nOrderCycle console: {CONSOLE_URL}  (log in with a demo login above; Ctrl+C stops)\n", flush=True)
    # Notifications, big imports and exports are queued in the database; this worker runs them.
    worker = subprocess.Popen([str(PYTHON), "manage.py", "db_worker"], cwd=ROOT)
    try:
        run("manage.py", "runserver", "127.0.0.1:8000")
    finally:
        worker.terminate()
        worker.wait()


def test(pytest_args):
    set_up()
    code = subprocess.call([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT)
    if code == PYTEST_NO_TESTS_COLLECTED:
        print("dev.py: pytest collected no tests; that counts as a failure.", file=sys.stderr)
    sys.exit(code)


def main(argv):
    if sys.version_info < (3, 11):
        sys.exit(f"OrderCycle needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "run" and not rest:
        serve()
    elif command == "test":
        test(rest)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit(130)
