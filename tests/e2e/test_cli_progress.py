"""Progress bars of `lucid hub upload` / `hub download` (src/cli/commands.cc ProgressBar): drawn
on stderr for a terminal or with LUCID_PROGRESS=1, in 1 MiB pieces for uploads, never with
--json; the bytes still arrive intact (downloads are CID-checked). The phases of `lucid zk
prove` and `lucid infer --mode zkml` (PhaseProgress) under the same rule; stdout and the proof
bytes are the same with and without them."""
import hashlib
import json
import os
import re
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


# ---- phases of long operations (src/cli/commands.cc PhaseProgress) ----

def phase_lines(stderr: str, label: str):
    """The finished lines of `label`'s progress: each phase with its time, then the total (the
    redraws of the running phase, "NAME... TIME", left out; text mode reads \\r as a newline)."""
    lines = [seg.strip() for seg in stderr.replace("\r", "\n").split("\n")]
    return [l for l in lines if l.startswith(label + ":") and "... " not in l]


def test_zk_prove_shows_its_phases_and_leaves_stdout_and_proof_alone(tmp_path):
    vectors = MODELS / "cnn.vectors.json"
    inp = MODELS / "sample_input_cnn.json"

    def prove(out, progress, json_output=False):
        cmd = [str(LUCID)] + (["--json"] if json_output else []) + [
            "zk", "prove", MODELS / "cnn.onnx", "--input", inp, "--out", out, "--calibration", vectors]
        env = dict(os.environ, LUCID_PROGRESS="1" if progress else "0")
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, env=env)
        assert p.returncode == 0, p.stdout + p.stderr
        return p

    on = prove(tmp_path / "a.proof", True)
    lines = phase_lines(on.stderr, "zk prove")
    # Every phase the command goes through, in order, each with its measured time, then the total.
    names = [l.split(": ", 1)[1].rsplit(" ", 2)[0] for l in lines]
    assert names == ["compile", "quantize", "setup", "execute", "commit", "prove", "check outputs", "done in"], lines
    assert all(l.endswith(" ms") or l.endswith(" s") for l in lines), lines
    assert "prove... " in on.stderr  # the running phase is drawn before it ends

    off = prove(tmp_path / "b.proof", False)
    assert "zk prove:" not in off.stderr
    # stdout is the same with and without progress (but for the measured times and the file names)
    def stable(out, name):
        return [l.replace(name, "PROOF") for l in out.splitlines() if not l.startswith("time ")]
    assert stable(on.stdout, "a.proof") == stable(off.stdout, "b.proof")
    assert "zk prove:" not in on.stdout and "\r" not in on.stdout
    # and so is the proof
    assert (tmp_path / "a.proof").read_bytes() == (tmp_path / "b.proof").read_bytes()

    # --json: never any progress, even when asked for
    js = prove(tmp_path / "c.proof", True, json_output=True)
    assert js.stderr == ""
    assert json.loads(js.stdout)["proof_bytes"] == (tmp_path / "c.proof").stat().st_size


def test_infer_zkml_wait_shows_its_phases(devnet: Devnet, tmp_path):
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    inp = tmp_path / "input.json"
    inp.write_text(json.dumps(vectors[2]["inputs"]))
    on = run(devnet, "infer", "digits-mlp-int8@1.0", "--mode", "zkml", "--input", inp)
    lines = phase_lines(on.stderr, "infer")
    names = [l.split(": ", 1)[1].rsplit(" ", 2)[0] for l in lines]
    # The node answers, proves in the background, the proof settles in a block, and the CLI
    # checks the proof the chain accepted. "settle" shows when the CLI sees the proof
    # submitted before it is in a block.
    assert names[0] == "infer" and names[1] == "prove" and names[-2:] == ["check proof", "done in"], lines
    assert set(names[2:-2]) <= {"settle"}, lines
    assert "infer:" not in on.stdout and "\r" not in on.stdout
    assert "settled in block" in on.stdout

    off = run(devnet, "infer", "digits-mlp-int8@1.0", "--mode", "zkml", "--input", inp, progress=False)
    assert "infer:" not in off.stderr
    # Same stdout but for the receipt id and block.
    def stable(out):
        return [re.sub(r"[0-9a-f]{64}", "ID", re.sub(r"block \d+", "block N", l)) for l in out.splitlines()]
    assert stable(on.stdout) == stable(off.stdout)
    js = run(devnet, "infer", "digits-mlp-int8@1.0", "--mode", "zkml", "--input", inp, json_output=True)
    assert "infer:" not in js.stderr and json.loads(js.stdout)["height"] > 0
