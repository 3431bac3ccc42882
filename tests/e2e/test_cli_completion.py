"""`lucid completion bash|zsh` (src/cli/completion.h): the generated script, sourced in a real
bash, completes subcommands at every level, each command's own options, and the global options
(--json, --node, --home, --from) after a subcommand, as `lucid` accepts them there."""
import shutil
import subprocess

import pytest

from conftest import LUCID


def complete(script_path, *words):
    """COMPREPLY for the command line `words` with the cursor on the last word."""
    line = " ".join(f"'{w}'" for w in words)
    out = subprocess.run(
        ["bash", "-c", f'source "{script_path}"; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; '
                       '_lucid; printf "%s\\n" "${COMPREPLY[@]}"'],
        check=True, capture_output=True, text=True).stdout
    return set(out.split())


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    if not LUCID.exists():
        pytest.skip(f"{LUCID} not built")
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    out = subprocess.run([str(LUCID), "completion", "bash"], check=True, capture_output=True, text=True).stdout
    path = tmp_path_factory.mktemp("completion") / "lucid.bash"
    path.write_text(out)
    return path


def test_completes_subcommands_at_every_level(script):
    assert complete(script, "lucid", "ke") == {"keys"}
    top = complete(script, "lucid", "")
    assert {"devnet", "node", "keys", "hub", "verify", "chat", "completion"} <= top
    assert "new" in complete(script, "lucid", "keys", "")
    assert complete(script, "lucid", "keys", "n") == {"new"}


def test_completes_options_of_the_command_and_global_ones(script):
    assert "--http" in complete(script, "lucid", "devnet", "--ht")
    assert "--block-time" in complete(script, "lucid", "devnet", "--")
    # global options are accepted after the subcommand (app.fallthrough) and offered there
    assert "--json" in complete(script, "lucid", "keys", "new", "--js")
    # a value that is not a subcommand does not derail the path
    assert "--http" in complete(script, "lucid", "devnet", "--block-time", "1s", "--ht")


def test_unknown_shell_is_refused_and_zsh_wraps_bashcompinit():
    if not LUCID.exists():
        pytest.skip(f"{LUCID} not built")
    bad = subprocess.run([str(LUCID), "completion", "fish"], capture_output=True, text=True)
    assert bad.returncode != 0 and "fish" in (bad.stderr + bad.stdout)
    zsh = subprocess.run([str(LUCID), "completion", "zsh"], check=True, capture_output=True, text=True).stdout
    assert zsh.startswith("autoload -U +X bashcompinit && bashcompinit")
    assert "complete -o default -F _lucid lucid" in zsh
