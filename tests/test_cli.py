"""The ``targetkit`` command line: artifact inspect/decode, decide, serve flags, errors.

Outputs are checked in-process through ``main(argv)``; the error contract (exit code 2,
one line on stderr, never a traceback) is checked through a real subprocess too.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from targetkit.artifact.obfuscation import obfuscate
from targetkit.cli.explain import condition_text, condition_vars
from targetkit.cli.main import main
from targetkit.cli.style import Style
from targetkit.cli.summary import allocation_range
from targetkit.serve.server import BackgroundEmulator
from targetkit.serve.sources import BUNDLED_ARTIFACT, bundled_bytes

ORG = "ABCDEF0123456789ABCDEF01@AdobeOrg"
V1 = bundled_bytes(BUNDLED_ARTIFACT)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "rules.json"
    path.write_bytes(V1)
    return path


@pytest.fixture
def rules_bin(tmp_path: Path) -> Path:
    path = tmp_path / "rules.bin"
    path.write_bytes(obfuscate(V1, ORG))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGETKIT_")}
    return subprocess.run(
        [sys.executable, "-m", "targetkit.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


# -- artifact inspect ---------------------------------------------------------------------


def test_inspect_prints_the_artifact_summary(
    capsys: pytest.CaptureFixture[str], artifact: Path
) -> None:
    code, out, _ = run(capsys, "artifact", "inspect", str(artifact))
    assert code == 0
    assert "Version     1.0.0" in out
    assert "checkout-button, homepage-hero, loyalty-banner, shipping-banner" in out
    assert "product-detail" in out
    assert "210001  Homepage hero test  [A/B test]  mbox homepage-hero" in out
    assert "- Classic hero (experience 0): 50%" in out
    assert "- Gold perks (experience 0): by audience, audiences 4001" in out
    assert "16.0 KiB" in out
    assert "\x1b[" not in out  # no colour into a pipe


def test_inspect_json(capsys: pytest.CaptureFixture[str], artifact: Path) -> None:
    code, out, _ = run(capsys, "artifact", "inspect", str(artifact), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["size_bytes"] == len(V1)
    assert report["version"] == "1.0.0"
    assert report["views"] == {"local": ["product-detail"], "remote": []}
    by_id = {a["id"]: a for a in report["activities"]}
    assert set(by_id) == {210001, 210002, 210003, 210004, 210005}
    hero = by_id[210001]
    assert hero["type"] == "ab"
    assert [(e["name"], e["allocation_percent"]) for e in hero["experiences"]] == [
        ("Classic hero", 50.0),
        ("Bold hero", 50.0),
    ]
    assert by_id[210004]["audiences"] == [4002]


def test_inspect_reads_rules_bin_and_urls(
    capsys: pytest.CaptureFixture[str], rules_bin: Path
) -> None:
    code, out, _ = run(
        capsys, "artifact", "inspect", str(rules_bin), "--organization-id", ORG, "--json"
    )
    assert code == 0
    assert json.loads(out)["obfuscated"] is True
    with BackgroundEmulator() as emu:
        url = emu.url + emu.emulator.artifact_path()
        code, out, _ = run(capsys, "artifact", "inspect", url, "--json")
    assert code == 0
    assert json.loads(out)["source"] == url


def test_allocation_ranges_are_read_from_conditions() -> None:
    between = {"and": [{"<=": [0, {"var": "allocation"}]}, {">=": [50, {"var": "allocation"}]}]}
    assert allocation_range(between) == (0.0, 50.0)
    assert allocation_range({"==": ["gold", {"var": "mbox.tier"}]}) is None
    nested = {"and": [between, {"==": [1, 1]}]}
    assert allocation_range(nested) == (0.0, 50.0)


# -- artifact decode ----------------------------------------------------------------------


def test_decode_round_trips_rules_bin(
    capsys: pytest.CaptureFixture[str], rules_bin: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "out.json"
    code, _, err = run(
        capsys, "artifact", "decode", str(rules_bin), "--organization-id", ORG, "-o", str(out_file)
    )
    assert code == 0
    assert out_file.read_bytes() == V1
    assert "wrote" in err


def test_decode_to_stdout(capfdbinary: pytest.CaptureFixture[bytes], rules_bin: Path) -> None:
    assert main(["artifact", "decode", str(rules_bin), "--organization-id", ORG]) == 0
    assert capfdbinary.readouterr().out == V1


def test_decode_with_the_wrong_organization_is_one_line(
    capsys: pytest.CaptureFixture[str], rules_bin: Path
) -> None:
    code, _, err = run(
        capsys, "artifact", "decode", str(rules_bin), "--organization-id", "WRONG@AdobeOrg"
    )
    assert code == 2
    assert err.count("\n") == 1
    assert "organization id is probably wrong" in err


# -- decide -------------------------------------------------------------------------------


def test_decide_with_flags(capsys: pytest.CaptureFixture[str], artifact: Path) -> None:
    code, out, _ = run(
        capsys,
        "decide",
        "--artifact",
        str(artifact),
        "--mbox",
        "homepage-hero",
        "--mbox",
        "loyalty-banner",
        "--param",
        "tier=gold",
        "--tnt-id",
        "dave",
        "--url",
        "https://shop.example/",
        "--user-agent",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/120.0 Safari/537.36",
    )
    assert code == 0
    response = json.loads(out)
    hero, loyalty = response["execute"]["mboxes"]
    assert hero["options"][0]["content"]["theme"] == "classic"
    assert loyalty["options"][0]["responseTokens"]["experience.name"] == "Gold perks"
    assert response["id"]["tntId"] == "dave"


def test_decide_with_a_request_file(
    capsys: pytest.CaptureFixture[str], artifact: Path, tmp_path: Path
) -> None:
    request = {
        "id": {"tntId": "alice"},
        "context": {"channel": "web"},
        "prefetch": {"views": [{"name": "product-detail"}]},
    }
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(request))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"request": request, "session_id": "s-1"}))
    answers = []
    for path in (bare, wrapped):
        code, out, _ = run(capsys, "decide", "--artifact", str(artifact), "--request", str(path))
        assert code == 0
        (view,) = json.loads(out)["prefetch"]["views"]
        answers.append(view["options"][0]["content"])
    assert answers[0] == answers[1]
    code, out, _ = run(
        capsys, "decide", "--artifact", str(artifact), "--request", str(wrapped), "--envelope"
    )
    assert code == 0
    assert json.loads(out)["target_cookie"]["value"].startswith("session#s-1#")


def test_decide_trace_explains_which_rules_matched(
    capsys: pytest.CaptureFixture[str], artifact: Path
) -> None:
    code, out, _ = run(
        capsys,
        "decide",
        "--artifact",
        str(artifact),
        "--mbox",
        "homepage-hero",
        "--mbox",
        "loyalty-banner",
        "--tnt-id",
        "dave",
        "--trace",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "execute mbox homepage-hero  ->  Homepage hero test: Classic hero"
    assert "activity 210001 Homepage hero test [ab]" in lines[1]
    assert "matched" in lines[2] and "0 <= allocation <= 50  where allocation = 44.56" in lines[2]
    loyalty = out[out.index("execute mbox loyalty-banner") :]
    assert "Join the club" in loyalty.splitlines()[0]
    assert 'no match  "gold" == mbox.tier  where mbox.tier = null' in loyalty
    assert "Homepage hero" not in loyalty  # each location explains its own activities


def test_decide_trace_json_carries_the_engine_trace(
    capsys: pytest.CaptureFixture[str], artifact: Path
) -> None:
    code, out, _ = run(
        capsys,
        "decide",
        "--artifact",
        str(artifact),
        "--mbox",
        "homepage-hero",
        "--tnt-id",
        "dave",
        "--trace",
        "--json",
    )
    assert code == 0
    trace = json.loads(out)["execute"]["mboxes"][0]["trace"]
    assert trace["evaluatedCampaignTargets"][0]["campaignId"] == 210001


def test_condition_text() -> None:
    between = {"and": [{"<=": [0, {"var": "allocation"}]}, {">=": [50, {"var": "allocation"}]}]}
    assert condition_text(between) == "0 <= allocation <= 50"
    either = {"or": [{"==": ["CA", {"var": "geo.country"}]}, {"!": {"var": "mbox.x"}}]}
    assert condition_text({"and": [either, True]}) == '("CA" == geo.country or not mbox.x) and true'
    assert condition_vars({"and": [either, between]}) == ["geo.country", "mbox.x", "allocation"]


# -- errors: exit code 2, one line, no traceback -------------------------------------------


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("targetkit: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


def test_missing_file_is_exit_2_one_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    _one_line_error(run_process("artifact", "inspect", missing), "not found", missing)
    _one_line_error(run_process("decide", "--artifact", missing, "--mbox", "a"), "not found")
    _one_line_error(run_process("serve", "--artifact", missing), "not found")


def test_invalid_json_is_exit_2_one_line(tmp_path: Path, artifact: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": "1.0.0",\n  "rules": ')
    _one_line_error(run_process("artifact", "inspect", str(broken)), "not valid JSON")
    _one_line_error(
        run_process("decide", "--artifact", str(artifact), "--request", str(broken)),
        "request",
        "not valid JSON",
    )
    _one_line_error(run_process("serve", "--artifact", str(broken)), "not valid JSON")


def test_unknown_mbox_is_exit_2_one_line(artifact: Path) -> None:
    _one_line_error(
        run_process("decide", "--artifact", str(artifact), "--mbox", "homepage-heroo"),
        "unknown mbox 'homepage-heroo'",
        "homepage-hero",
    )


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--view", "nope"], "unknown view 'nope'"),
        (["--mbox", "homepage-hero", "--param", "tier"], "KEY=VALUE"),
        ([], "nothing to decide"),
    ],
)
def test_other_decide_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], artifact: Path, argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, "decide", "--artifact", str(artifact), *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert fragment in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--error-rate", "2"], "error_rate"),
        (["--port", "70000"], "--port"),
        (["--reload"], "--reload"),
        (["--artifact", "{bad}", "--reload"], "not found"),
    ],
)
def test_bad_serve_flags_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, _, err = run(capsys, "serve", "--port", "0", *argv)
    assert code == 2
    assert err.count("\n") == 1
    assert fragment in err


def test_rules_bin_without_organization_id(
    capsys: pytest.CaptureFixture[str], rules_bin: Path
) -> None:
    code, _, err = run(capsys, "artifact", "inspect", str(rules_bin))
    assert code == 2
    assert "--organization-id" in err


def test_help_and_version() -> None:
    result = run_process("--help")
    assert result.returncode == 0
    for command in ("serve", "demo", "artifact", "decide"):
        assert command in result.stdout
    assert run_process("--version").stdout.startswith("targetkit ")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "targetkit"
    assert script.exists()
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Style(stream=_Terminal()).bold("x") == "\x1b[1mx\x1b[0m"
    assert Style(stream=io.StringIO()).bold("x") == "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert Style(stream=_Terminal()).bold("x") == "x"
