"""The Hugging Face Space without Docker (`docker build` cannot run here): README.md's front
matter is checked, then the Dockerfile's steps are run in a clean virtual environment — ARG,
ENV, WORKDIR, COPY and RUN interpreted in order, /home/user mapped to a temporary directory,
the image's python being this machine's python3.11 — and its CMD must serve the app on the
front matter's port. Steps that change the machine itself rather than the image's files (creating
the uid-1000 user) are checked, not run: the test must not add users to the host."""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
# Build arguments overridden here: this machine reaches PyPI only (the PyPI torch==2.13.0 here
# is the CPU wheel on disk), not the PyTorch index the Space uses.
ARG_OVERRIDES = {"TORCH_INDEX": "https://pypi.org/simple"}
HOST_ONLY = ("useradd ",)  # RUN steps checked by test_the_image_runs_as_uid_1000, not executed


def front_matter() -> dict[str, str]:
    text = (REPO / "README.md").read_text()
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with the Space's YAML front matter"
    return dict(line.split(": ", 1) for line in match.group(1).splitlines() if ": " in line)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_front_matter_declares_a_docker_space_on_the_cmd_port():
    fm = front_matter()
    assert fm["sdk"] == "docker" and fm["app_port"].isdigit()
    steps = dict(instructions())
    assert steps["FROM"] == "python:3.11-slim"
    assert steps["EXPOSE"] == fm["app_port"]
    cmd = json.loads(steps["CMD"])
    assert cmd[:2] == ["igd", "app"] and cmd[cmd.index("--port") + 1] == fm["app_port"]
    assert cmd[cmd.index("--address") + 1] == "0.0.0.0"


def test_the_space_runs_hosted_mode():
    """Visitors of the Space choose among configured entries and see no server path
    (app/hosting.py); the same command serves locally with --hosted dropped."""
    cmd = json.loads(dict(instructions())["CMD"])
    assert "--hosted" in cmd
    from igd.cli import build_parser

    args = build_parser().parse_args(cmd[1:])
    assert args.hosted and args.func.__name__ == "cmd_app"


def test_the_image_runs_as_uid_1000():
    """Spaces run containers as uid 1000: the user is created before USER switches to it."""
    steps = instructions()
    create = steps.index(("RUN", "useradd -m -u 1000 user"))
    assert steps[create + 1] == ("USER", "user")
    installs = [i for i, (op, arg) in enumerate(steps) if op == "RUN" and "pip install" in arg]
    assert installs and min(installs) > create + 1, "install as the user, so the app can write its caches"


def expand(text: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), text)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """Run the Dockerfile's build steps; returns the environment and working directory."""
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the image is python:3.11; this interpreter is not 3.11")
    root = tmp_path_factory.mktemp("space")
    context = root / "context"  # the build context: tracked files minus .dockerignore
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in files.splitlines():
        if (REPO / name).is_file():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, context / name)
    home = root / "home" / "user"
    home.mkdir(parents=True)
    fs = lambda text: text.replace("/home/user", str(home))  # noqa: E731  (strings: URLs keep their //)
    # PIP_COMPILE=0: pip writes no .pyc for the ~10,000 modules it installs (about a minute of the
    # build step); Python compiles what the app imports when it starts. (PIP_NO_COMPILE=1 would
    # turn compiling ON: pip reads a "no-" variable's value as the option's, inverted.)
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "PIP_COMPILE": "0"}
    python_dir = str(Path(sys.base_prefix) / "bin")  # the base interpreter, not this venv's
    env["PATH"] = f"{python_dir}:{env['PATH']}"
    workdir = home
    for op, arg in instructions():
        if op == "ARG":
            name, _, default = arg.partition("=")
            env[name] = ARG_OVERRIDES.get(name, default)
        elif op == "ENV":
            for pair in shlex.split(arg):
                key, _, value = pair.partition("=")
                env[key] = fs(expand(value, env))
        elif op == "WORKDIR":
            workdir = Path(fs(expand(arg, env)))
            workdir.mkdir(parents=True, exist_ok=True)
        elif op == "COPY":
            *sources, dest = [a for a in shlex.split(arg) if not a.startswith("--")]
            for src in sources:
                target = workdir / dest
                if (context / src).is_dir():
                    shutil.copytree(context / src, target, dirs_exist_ok=True)
                else:
                    shutil.copy2(context / src, target)
        elif op == "RUN" and arg.startswith(HOST_ONLY):
            continue
        elif op == "RUN":
            command = fs(expand(arg, env))
            proc = subprocess.run(["bash", "-c", command], cwd=workdir, env=env, capture_output=True,
                                  text=True, timeout=1800)
            assert proc.returncode == 0, f"RUN {command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return env, workdir


def serving(port: str | int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", int(port))) == 0


def test_the_built_image_serves_the_app(image):
    env, workdir = image
    assert (workdir / "data" / "ml-100k" / "info.txt").exists()
    assert shutil.which("igd", path=env["PATH"]).startswith(env["VIRTUAL_ENV"])
    cmd = json.loads(dict(instructions())["CMD"])
    port = front_matter()["app_port"]
    # else the health check below would talk to someone else's server
    assert not serving(port), f"port {port} is already in use: stop what serves it"
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
        else:
            pytest.fail("the image's CMD did not serve /_stcore/health")
        page = urllib.request.urlopen(f"http://localhost:{port}/", timeout=10).read().decode()
        assert "<title>" in page
    finally:
        proc.terminate()  # what `docker stop` sends the CMD
        proc.wait(timeout=30)
    assert not serving(port), "the app still serves after its CMD was stopped"
    # The app itself, headless, in the built environment: the embedded default works.
    # Hosted, as the CMD runs it: the sidebar's three select boxes and the two checkpoint choices.
    check = (f"from streamlit.testing.v1 import AppTest; at = AppTest.from_file({str(workdir / 'app' / 'streamlit_app.py')!r}, "
             "default_timeout=300); at.run(); assert not at.exception and not at.error, at.error; "
             "assert not at.sidebar.text_input and len(at.sidebar.selectbox) == 3, 'not hosted'; "
             "assert len(at.selectbox) >= 5, 'no checkpoint choices'")
    out = subprocess.run(["python", "-c", check], cwd=workdir, env={**env, "IGD_HOSTED": "1"}, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
