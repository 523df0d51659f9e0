"""The `notary` command as a user runs it: a real process, the same data directory and chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pdf_tools import flip_byte_in_signed_range

NOTARY = Path(sys.executable).with_name("notary")


@pytest.fixture
def run(tmp_path, anvil_url):
    env = {**os.environ, "NOTARY_DATA_DIR": str(tmp_path / "data"), "NOTARY_RPC_URL": anvil_url,
           "NOTARY_KEY_PASSPHRASE": "cli-test"}

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


def test_bad_input_gets_exit_code_3_and_a_message(run, tmp_path):
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
