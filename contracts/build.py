"""Rebuild the committed artifact reproducibly: ``python -m contracts.build``.

The compiler is the pinned ``solc`` npm package (WebAssembly), driven through standard
JSON with every setting fixed here, so the same source always gives the same bytecode.
``python -m contracts.build --check`` compiles and compares instead of writing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from .artifact import ARTIFACT, CONTRACT_NAME, HERE, SOURCE

SOLC_SETTINGS = {
    "optimizer": {"enabled": True, "runs": 1_000_000},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


class CompileError(Exception):
    code = "CONTRACT_COMPILE_FAILED"


def standard_json_input() -> dict:
    return {
        "language": "Solidity",
        "sources": {SOURCE.name: {"content": SOURCE.read_text()}},
        "settings": SOLC_SETTINGS,
    }


def compile_contract(repo_root: Path | None = None) -> dict:
    """Compile the source and return the artifact as a dict (not written)."""
    repo_root = repo_root or HERE.parent
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not installed; run `make setup`")
    if not (repo_root / "node_modules" / "solc").exists():
        raise CompileError("the solc npm package is missing; run `make setup`")
    source = SOURCE.read_text()
    proc = subprocess.run(
        [node, str(HERE / "compile.mjs")],
        input=json.dumps(standard_json_input()), capture_output=True, text=True,
        cwd=repo_root, timeout=300, check=False,
    )
    if proc.returncode != 0:
        raise CompileError(f"solc failed: {proc.stderr.strip()[:2000]}")
    output = json.loads(proc.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e["formattedMessage"] for e in errors))
    contract = output["contracts"][SOURCE.name][CONTRACT_NAME]
    return {
        "contractName": CONTRACT_NAME,
        "solcVersion": output["solcVersion"],
        "sourceSha256": hashlib.sha256(source.encode()).hexdigest(),
        "settings": SOLC_SETTINGS,
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
    }


def main(argv: list[str]) -> int:
    artifact = compile_contract()
    text = json.dumps(artifact, indent=1, ensure_ascii=False) + "\n"
    if "--check" in argv:
        same = ARTIFACT.exists() and ARTIFACT.read_text() == text
        print("artifact matches the source" if same else "artifact is stale: run `make contracts`")
        return 0 if same else 1
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(text)
    print(f"wrote {ARTIFACT.relative_to(HERE.parent)} (solc {artifact['solcVersion']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
