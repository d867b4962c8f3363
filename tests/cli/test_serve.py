"""`crm serve` as a user runs it: options, the port, the banner, and stopping."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from cli.main import main
from cli.serve import banner
from crm.settings import Settings
from tests.servers import clean_env, free_port

# Without the virtual environment on the PATH, as after `./dev serve` in a clone.
SYSTEM_PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if Path(p).is_dir())


def serve(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", *args],
        cwd=cwd,
        env=env or clean_env(PATH=SYSTEM_PATH),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_ready(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("crm serve was not ready in 60 s")


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """The embedded PostgreSQL's processes: the postmaster and its children."""
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return []
    postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
    return [postmaster, *postmaster.children(recursive=True)]


@pytest.fixture
def home() -> Iterator[Path]:
    """A folder to serve from, outside pytest's own temporary folder.

    As root, pgserver runs PostgreSQL as its own user and opens the folders on
    the way for it; any pytest starting meanwhile on this machine closes its
    folder again (mode 0700), which would fail the embedded server's initdb.
    """
    with tempfile.TemporaryDirectory(prefix="crm-serve-") as folder:
        yield Path(folder)


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> str:
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    return output


def test_sigterm_stops_the_embedded_database_as_ctrl_c_does(home: Path) -> None:
    data_dir = home / ".crm"
    port = free_port()
    process = serve("--port", str(port), cwd=home)
    wait_ready(process, port)
    postgres = postgres_processes(data_dir)
    assert postgres, "the embedded PostgreSQL runs while the server does"

    output = stop(process, signal.SIGTERM)
    assert (
        f"listening on http://127.0.0.1:{port} (1 worker(s), embedded PostgreSQL in .crm/postgres)"
        in output
    )
    assert output.rstrip().endswith("Stopped.")
    psutil.wait_procs(postgres, timeout=10)
    assert [p.pid for p in postgres if p.is_running()] == []
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    # Started again on the same folder, Ctrl-C stops it all as well.
    process = serve("--port", str(port), cwd=home)
    wait_ready(process, port)
    postgres = postgres_processes(data_dir)
    assert postgres
    stop(process, signal.SIGINT)
    psutil.wait_procs(postgres, timeout=10)
    assert [p.pid for p in postgres if p.is_running()] == []


def test_a_handle_left_by_a_killed_server_does_not_keep_postgres_running(home: Path) -> None:
    data_dir = home / ".crm"
    port = free_port()
    process = serve("--port", str(port), cwd=home)
    wait_ready(process, port)
    process.kill()  # no cleanup at all: its handle stays listed
    process.communicate(timeout=10)
    postgres = postgres_processes(data_dir)
    assert postgres, "a killed server leaves its PostgreSQL running"

    process = serve("--port", str(port), cwd=home)
    wait_ready(process, port)
    assert postgres_processes(data_dir)[0].pid == postgres[0].pid  # joined, not restarted
    stop(process, signal.SIGINT)
    psutil.wait_procs(postgres, timeout=10)
    assert [p.pid for p in postgres if p.is_running()] == []


def test_the_banner_names_the_command_that_works_from_a_clone() -> None:
    text = banner(Settings(), 8000)
    assert "CRM API listening on http://127.0.0.1:8000 (1 worker(s), embedded PostgreSQL" in text
    assert (
        "  ./dev crm bootstrap --company 'Acme' --owner-email you@example.com "
        "--default-region US\n" in text
    )
    assert "--default-region is the country that phone numbers written without +country" in text


def refusal(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The exit code and output of `crm serve ARGS`, run in this process."""
    with pytest.raises(SystemExit) as exit:
        main(["serve", *args])
    captured = capsys.readouterr()
    assert captured.out == ""
    return int(str(exit.value.code)), captured.err


@pytest.fixture(autouse=True)
def _no_server_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CRM_HOST", "CRM_PORT", "CRM_WORKERS", "CRM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", SYSTEM_PATH)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "crm: --port must be between 0 and 65535, got 99999\n"),
        (["--port", "-5"], "crm: --port must be between 0 and 65535, got -5\n"),
        (["--port", "http"], "crm: --port must be a whole number, got 'http'\n"),
        (["--workers", "0"], "crm: --workers must be between 1 and 256, got 0\n"),
        (["--workers", "257"], "crm: --workers must be between 1 and 256, got 257\n"),
    ],
)
def test_options_are_checked_as_their_settings_are(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    assert refusal(capsys, *args) == (2, message)
    assert not (tmp_path / ".crm").exists(), "refused before any database work"


def test_a_setting_out_of_range_is_refused_in_the_same_words(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_PORT", "99999")
    assert refusal(capsys) == (2, "crm: CRM_PORT must be between 0 and 65535, got 99999\n")


def test_a_port_in_use_is_one_line_and_no_banner(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = refusal(capsys, "--port", str(port))
    assert code == 1
    assert output == (
        f"crm: port {port} on 127.0.0.1 is in use by another program; "
        "stop it or choose another port with --port (or CRM_PORT)\n"
    )
    assert not (tmp_path / ".crm").exists(), "refused before any database work"
