"""The `notary` command as a user runs it, on the same data directory and chain.

Most commands run in this process (Typer's runner): a `notary` process pays about four
seconds of imports (web3, pyHanko, FastAPI) before it does anything, which is what a user
pays too, but not what these tests are about. Where the process itself is the point (the
exit code and the absence of a traceback on bad input), the command runs as a real process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from records.matters import EXAMPLES
from tests.pdf_tools import flip_byte_in_signed_range

NOTARY = Path(sys.executable).with_name("notary")


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _env(tmp_path: Path, anvil_url: str) -> dict[str, str]:
    return {"NOTARY_DATA_DIR": str(tmp_path / "data"), "NOTARY_RPC_URL": anvil_url, "NOTARY_KEY_PASSPHRASE": "cli-test"}


@pytest.fixture
def run(tmp_path, anvil_url, monkeypatch):
    """`notary ARGS` in this process. An exception the command did not turn into an exit
    code is raised here (a real process would print a traceback: a bug either way)."""
    from notary.cli import app

    env = _env(tmp_path, anvil_url)
    runner = CliRunner()
    # A command may install a SIGTERM handler for its own process: keep pytest's.
    monkeypatch.setattr(signal, "signal", lambda *_a: None)

    def _run(*args: str) -> Ran:
        result = runner.invoke(app, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return _run


@pytest.fixture
def run_process(tmp_path, anvil_url):
    """`notary ARGS` as a real process, as a user runs it."""
    env = {**os.environ, **_env(tmp_path, anvil_url)}

    def _run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(NOTARY), *args], env=env, capture_output=True, text=True, timeout=120)

    return _run


def test_matters_and_examples(run):
    out = run("matters")
    assert out.returncode == 0
    assert "birth" in out.stdout and "出生公证" in out.stdout and "无犯罪记录公证" in out.stdout
    example = run("matters", "--example", "no-criminal-record")
    assert example.returncode == 0 and json.loads(example.stdout)["residence"]
    unknown = run("matters", "--example", "nope")
    assert unknown.returncode == 3 and "unknown matter type" in unknown.stderr


def test_issue_then_verify_exit_codes(run, tmp_path):
    data = tmp_path / "in.json"
    data.write_text(run("matters", "--example", "birth").stdout, encoding="utf-8")
    pdf = tmp_path / "out" / "cert.pdf"
    issued = run("issue", "--matter", "birth", "--data", str(data), "--out", str(pdf))
    assert issued.returncode == 0, issued.stderr
    assert "verify URL: http" in issued.stdout and "沪东证字第000001号" in issued.stdout
    assert "anchored:   yes" in issued.stdout

    ok = run("verify", str(pdf))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("PASSED")
    as_json = run("verify", str(pdf), "--json")
    assert json.loads(as_json.stdout)["indication"] == "PASSED"

    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(flip_byte_in_signed_range(pdf.read_bytes()))
    bad = run("verify", str(tampered))
    assert bad.returncode == 1 and bad.stdout.startswith("FAILED")

    receipt = run("receipt", issued.stdout.split("id:")[1].split()[0])
    assert receipt.returncode == 0 and json.loads(receipt.stdout)["version"] == "ENOTARY-RECEIPT-V1"


def test_pending_certificate_verifies_indeterminate(run, tmp_path):
    data = tmp_path / "in.json"
    data.write_text(run("matters", "--example", "birth").stdout, encoding="utf-8")
    pdf = tmp_path / "cert.pdf"
    assert run("issue", "--matter", "birth", "--data", str(data), "--out", str(pdf), "--no-wait").returncode == 0
    pending = run("verify", str(pdf))
    assert pending.returncode == 2 and "ANCHOR_PENDING" in pending.stdout


def test_bad_input_gets_exit_code_3_and_a_message(run_process, tmp_path):
    run = run_process
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_text("hello")
    r = run("verify", str(not_pdf))
    assert r.returncode == 3 and "NOT_A_PDF" in r.stderr and "Traceback" not in r.stderr
    assert run("verify", str(tmp_path / "missing.pdf")).returncode == 3
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"applicant_name": "张明"}', encoding="utf-8")
    r = run("issue", "--matter", "birth", "--data", str(bad_json), "--out", str(tmp_path / "o.pdf"))
    assert r.returncode == 3 and "id_number" in r.stderr and "Traceback" not in r.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert run("issue", "--matter", "birth", "--data", str(broken), "--out", str(tmp_path / "o.pdf")).returncode == 3


def test_revoke_correct_token_and_audit(run, tmp_path):
    data = tmp_path / "in.json"
    data.write_text(run("matters", "--example", "birth").stdout, encoding="utf-8")
    issued = run("issue", "--matter", "birth", "--data", str(data), "--out", str(tmp_path / "a.pdf"))
    cid = issued.stdout.split("id:")[1].split()[0]
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**json.loads(data.read_text()), "birth_place": "上海市静安区"}, ensure_ascii=False))
    corrected = run("correct", cid, "--data", str(fixed), "--out", str(tmp_path / "b.pdf"))
    assert corrected.returncode == 0, corrected.stderr
    new_id = corrected.stdout.split("id:")[1].split()[0]
    old = run("verify", str(tmp_path / "a.pdf"))
    assert old.returncode == 1 and "SUPERSEDED" in old.stdout
    assert run("verify", str(tmp_path / "b.pdf")).returncode == 0
    assert run("revoke", cid, "--reason", "1").returncode == 3  # already superseded
    assert run("revoke", new_id, "--reason", "7").returncode == 3  # no such reason
    revoked = run("revoke", new_id, "--reason", "2", "--note", "申请人撤回")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert run("verify", str(tmp_path / "b.pdf")).returncode == 1
    token = run("token", "create", "王丽", "--role", "notary")
    assert token.returncode == 0 and "token: ent_" in token.stdout
    assert run("token", "create", "x", "--role", "king").returncode == 3
    audit = run("audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_bulk_issuing_with_per_row_errors(run, tmp_path):
    good = json.loads(run("matters", "--example", "birth").stdout)
    rows = [good, {**good, "id_number": "310101199003070028"}, good]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n", encoding="utf-8")
    out = tmp_path / "out"
    r = run("issue-bulk", "--matter", "birth", "--input", str(jsonl), "--out-dir", str(out))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "issued 2 of 4; 2 failed" in r.stdout
    errors = [json.loads(x) for x in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["row"] for e in errors] == [2, 4] and errors[0]["fields"][0]["field"] == "id_number"
    issued = [json.loads(x) for x in (out / "issued.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(issued) == 2 and all((out / i["file"]).exists() for i in issued)
    assert run("verify", str(out / issued[0]["file"])).returncode == 0
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("applicant_name,sex,birth_date,id_number,birth_place,father_name,mother_name,notary\n"
                        "张明,男,1990-03-07,310101199003070027,上海市黄浦区,张建国,李秀英,王丽\n", encoding="utf-8")
    r = run("issue-bulk", "--matter", "birth", "--input", str(csv_file), "--out-dir", str(tmp_path / "csv"))
    assert r.returncode == 0 and "issued 1 of 1" in r.stdout


def test_db_commands(run, tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    assert "database: empty" in run("db", "current").stdout
    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0 and "empty ->" in upgraded.stdout
    current = run("db", "current").stdout.splitlines()
    assert current[0].split()[-1] == current[1].split()[-1]  # at the newest revision


def test_issue_at_a_long_term_level(run, tmp_path):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    data = tmp_path / "in.json"
    data.write_text(json.dumps(EXAMPLES["birth"], ensure_ascii=False), encoding="utf-8")
    out = run("issue", "--matter", "birth", "--data", str(data), "--out", str(tmp_path / "lta.pdf"),
              "--level", "B-LTA", "--no-wait")
    assert out.returncode == 0, out.stderr
    fields = [s.field_name for s in PdfFileReader(io.BytesIO((tmp_path / "lta.pdf").read_bytes())).embedded_signatures]
    assert fields == ["NotarySignature", "NotaryArchiveTimestamp"]
    refused = run("issue", "--matter", "birth", "--data", str(data), "--out", str(tmp_path / "x.pdf"), "--level", "B-Q")
    assert refused.returncode == 3 and "level" in refused.stderr


def test_follower_once_mirrors_the_ledger_and_says_where_it_stands(run, tmp_path):
    """`notary follower --once` catches the ledger mirror up and stops; a second run finds
    nothing new (the mirror is read from the registry's deployment block on)."""
    from sqlmodel import Session, select

    from anchoring.models import LedgerEvent
    from notary.database import make_engine

    data = tmp_path / "in.json"
    data.write_text(json.dumps(EXAMPLES["birth"], ensure_ascii=False), encoding="utf-8")
    assert run("issue", "--matter", "birth", "--data", str(data), "--out", str(tmp_path / "a.pdf")).returncode == 0
    first = run("follower", "--once")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "up to date" in first.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'notary.sqlite3'}")
    with Session(engine) as s:
        kinds = [e.kind for e in s.exec(select(LedgerEvent)).all()]
    engine.dispose()
    assert kinds.count("RootAnchored") == 1 and "OfficeRegistered" in kinds
    again = run("follower", "--once")
    assert again.returncode == 0 and again.stdout.split("block")[1] == first.stdout.split("block")[1]


def test_staff_accounts_from_the_command_line(run, tmp_path):
    """`notary user create|reset|disable|enable|list|code`: the secrets printed once, a bad
    name or role a clear exit 3, every change audited."""
    import json as json_

    made = run("user", "create", "wangli", "--name", "王丽", "--operator", "张主任", "--json")
    assert made.returncode == 0, made.stderr
    first = json_.loads(made.stdout)
    assert len(first["password"]) >= 12 and first["totp_uri"].startswith("otpauth://totp/")
    assert run("user", "create", "wangli", "--name", "王丽").returncode == 3  # the name is taken
    bad = run("user", "create", "Bad Name!", "--name", "王丽")
    assert bad.returncode == 3 and "INVALID_ACCOUNT" in bad.stderr and "Traceback" not in bad.stderr
    assert run("user", "create", "someone", "--name", "某人", "--role", "emperor").returncode == 3
    regulator = run("user", "create", "zhaoqiang", "--name", "赵强", "--role", "registry_admin")
    assert regulator.returncode == 0 and "registry_admin" in regulator.stdout

    again = json_.loads(run("user", "reset", "wangli", "--json").stdout)
    assert again["password"] != first["password"] and again["totp_secret"] != first["totp_secret"]
    kept = json_.loads(run("user", "reset", "wangli", "--keep-totp", "--json").stdout)
    assert kept["totp_secret"] == again["totp_secret"]
    code = run("user", "code", "wangli")
    assert code.returncode == 0 and len(code.stdout.strip()) == 6
    assert "disabled" in run("user", "disable", "wangli").stdout
    listed = run("user", "list").stdout
    assert "wangli" in listed and "disabled" in listed and first["password"] not in listed
    assert run("user", "enable", "wangli").returncode == 0
    assert run("user", "reset", "nobody").returncode == 3
    trail = run("audit", "list", "--action", "staff", "--json")
    assert trail.returncode == 0
    actions = [json_.loads(line)["action"] for line in trail.stdout.splitlines() if line.strip()]
    assert {"staff.create", "staff.reset", "staff.disable", "staff.enable"} <= set(actions)
