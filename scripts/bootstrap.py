"""Set up everything the studio needs on this machine; run again, it only redoes what changed.

Checks the prerequisites (Python 3.11, Java 17+, Node 20+), creates the main virtual environment
(.venv) and the PyFlink one (.venv-flink), installs the pinned requirements, installs and builds the
editor, and for the test suite also the test packages and Chromium. Standard library only: it runs
before any virtual environment exists.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRONTEND = ROOT / "frontend"


class SetupError(Exception):
    """A prerequisite is missing or a step failed; the message says what to do."""


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        shown = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("WARNING: Location"))
        raise SetupError(f"`{' '.join(command)}` failed (exit {result.returncode}):\n{shown[-4000:]}")


def digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            sha.update(str(file.relative_to(ROOT)).encode())
            sha.update(file.read_bytes())
    return sha.hexdigest()


def up_to_date(stamp: Path, value: str) -> bool:
    return stamp.exists() and stamp.read_text() == value


def check_prerequisites(need_node: bool) -> None:
    if sys.version_info[:2] != (3, 11):
        raise SetupError(f"Python 3.11 is required; this is {sys.version.split()[0]}. Set PYTHON=/path/to/python3.11.")
    java = shutil.which("java")
    if java is None:
        raise SetupError("Java 17 or newer is required for Spark and Flink, and `java` is not on the PATH. "
                         "Install it (Debian: apt-get install openjdk-17-jre-headless).")
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', version)
    if not match or int(match.group(1)) < 17:
        raise SetupError(f"Java 17 or newer is required; found: {version.splitlines()[0] if version else 'unknown'}.")
    if need_node:
        node = shutil.which("node")
        npm = shutil.which("npm")
        if node is None or npm is None:
            raise SetupError("Node 20 or newer with npm is required to build the editor; install it (nodejs.org or your package manager).")
        major = int(subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v").split(".")[0])
        if major < 20:
            raise SetupError(f"Node 20 or newer is required; found Node {major}.")


def ensure_venv(folder: Path, requirements: list[Path], label: str) -> None:
    stamp = folder / ".studio-requirements"
    wanted = digest(*requirements)
    if up_to_date(stamp, wanted):
        return
    if not (folder / "bin" / "python").exists():
        step(f"Creating the {label} virtual environment in {folder.name}/")
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    step(f"Installing the {label} packages (the first time takes a few minutes)")
    command = [str(folder / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    for requirement in requirements:
        command += ["-r", str(requirement)]
    run(command)
    stamp.write_text(wanted)


def ensure_frontend() -> None:
    modules_stamp = FRONTEND / "node_modules" / ".studio-lock"
    lock = digest(FRONTEND / "package-lock.json")
    if not up_to_date(modules_stamp, lock):
        step("Installing the editor's packages (npm ci)")
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FRONTEND)
        modules_stamp.write_text(lock)
    sources = [FRONTEND / name for name in ("src", "index.html", "package-lock.json", "vite.config.ts",
                                            "tsconfig.json", "tsconfig.app.json", "tsconfig.node.json", "public")
               if (FRONTEND / name).exists()]
    built_stamp = FRONTEND / "dist" / ".studio-sources"
    wanted = digest(*sources)
    if not up_to_date(built_stamp, wanted):
        step("Building the editor (vite build)")
        run(["npm", "run", "build"], cwd=FRONTEND)
        built_stamp.write_text(wanted)


def ensure_chromium() -> None:
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SetupError("The browser tests need Chromium at /usr/bin/chromium. Install it "
                         "(Debian: sudo apt-get install chromium) and run again.")
    step("Installing Chromium from Debian's packages for the browser tests")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", "chromium"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("purpose", choices=["start", "test"])
    purpose = parser.parse_args().purpose
    try:
        check_prerequisites(need_node=True)
        requirements = [ROOT / "requirements.txt"]
        if purpose == "test":
            requirements.append(ROOT / "requirements-test.txt")
        ensure_venv(ROOT / ".venv", requirements, "studio")
        ensure_venv(ROOT / ".venv-flink", [ROOT / "requirements-flink.txt"], "PyFlink")
        ensure_frontend()
        if purpose == "test":
            ensure_chromium()
    except SetupError as error:
        print(f"\nSet-up stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
