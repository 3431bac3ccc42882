"""Progress bars of `lucid hub upload` / `hub download` (src/cli/commands.cc ProgressBar): drawn
on stderr for a terminal or with LUCID_PROGRESS=1, in 1 MiB pieces for uploads, never with
--json; the bytes still arrive intact (downloads are CID-checked)."""
import hashlib
import os
import subprocess

from conftest import LUCID, REPO, Cli, Devnet

MODELS = REPO / "models" / "digits"


def run(devnet, *args, progress=True, json_output=False):
    cmd = [str(LUCID), "--home", str(devnet.home), "--node", devnet.url, "--from", "dev1"]
    if json_output:
        cmd.append("--json")
    env = dict(os.environ, LUCID_PROGRESS="1" if progress else "0")
    p = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    return p


def test_upload_and_download_draw_progress(devnet: Devnet, cli: Cli, tmp_path):
    cli.run("hub", "create", "prog", key="dev1")
    extra = tmp_path / "extra.bin"
    extra.write_bytes(os.urandom(3 * 1024 * 1024 + 12345))  # 4 pieces of at most 1 MiB
    up = run(devnet, "hub", "upload", "prog", MODELS / "mlp.onnx", extra, "--version", "1.0")
    lines = [seg for seg in up.stderr.replace("\r", "\n").splitlines() if "extra.bin" in seg and "MiB" in seg]
    assert lines and lines[-1].strip().endswith("100 %"), up.stderr
    assert "3.0 / 3.0 MiB" in lines[-1]

    out = tmp_path / "dl"
    down = run(devnet, "hub", "download", "prog@1.0", "--out", out)
    assert "extra.bin  3.0 / 3.0 MiB  100 %" in down.stderr.replace("\r", "\n"), down.stderr
    assert hashlib.sha256((out / "extra.bin").read_bytes()).digest() == hashlib.sha256(extra.read_bytes()).digest()

    # Off without a terminal (LUCID_PROGRESS=0 here) and always off with --json.
    quiet = run(devnet, "hub", "download", "prog@1.0", "--out", tmp_path / "dl2", progress=False)
    assert "MiB" not in quiet.stderr
    js = run(devnet, "hub", "download", "prog@1.0", "--out", tmp_path / "dl3", json_output=True)
    assert "MiB" not in js.stderr
