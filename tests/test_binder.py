"""Binder launches the course: repo2docker accepts the repo and installs binder/requirements.txt."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
BINDER = ROOT / "binder"


def pins(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        line = line.split(";")[0].strip()
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            result[name.lower()] = version
    return result


def test_runtime_and_pins_match_the_course():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    binder, course = pins(BINDER / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert binder.pop("torch") == course.pop("torch") + "+cpu"
    assert binder == course
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert lines[-1] == "-e ."


def test_repo2docker_accepts_the_repo():
    exe = Path(sys.executable).parent / "jupyter-repo2docker"
    if not exe.exists():
        exe = shutil.which("jupyter-repo2docker")
    assert exe, "jupyter-repo2docker is not installed: `make test` installs requirements-test.txt"
    result = subprocess.run([str(exe), "--no-build", "--debug", "--user-id", "1000",
                             "--user-name", "jovyan", str(ROOT)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    dockerfile = result.stdout + result.stderr
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "python=3.11" in dockerfile
    assert "binder/start" in dockerfile  # sets OMP_WAIT_POLICY before JupyterLab starts
