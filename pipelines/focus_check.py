"""FOCUS conformance check: export `focus_costs` to Parquet and run the FinOps Foundation's validator.

`focus-validator` 2.x needs Python >= 3.12 while the project runs on 3.11, so it lives in a side
virtual environment (`.venv-focus/` at the repository root) created on first use. `make
focus-check`, `aispend focus-check` and the conformance test all go through `ensure_validator` and
`validate`, so they install and judge the same way.

What counts as a failure: the validator prints every rule as PASS / FAIL / SKIPPED and exits 0
whatever it finds, so the rule model shipped with it decides. A failed rule is *mandatory* when its
keyword is MUST / MUST NOT and it is reachable from a top-level rule through MUST composites only;
a failed AND-composite counts only when one of its failed children is itself mandatory (so a
column's MUST composite that fails only because a SHOULD child failed is a warning, not an error).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_DIR = REPO_ROOT / ".venv-focus"
FOCUS_VERSION = "1.2"
# focus-validator 2.2.1 pins numpy<2 but leaves pyarrow open; pyarrow >= 21 refuses numpy 1.x at import.
REQUIREMENTS = ("focus-validator==2.2.1", "pyarrow<21")
# Every applicability criterion on: the warehouse mixes providers that between them support
# commitments, regions, zones, tags, sub-accounts, unit and list pricing.
APPLICABILITY = "ALL"
# Rules of the validator's own model (model-1.2.0.1.json) that no dataset can pass; reported, not gating.
KNOWN_MODEL_DEFECTS = {
    "CommitmentDiscountStatus-C-004-C": "its Condition tests CommitmentDiscountId IS NULL (the spec says IS NOT "
                                        "NULL), so it contradicts CommitmentDiscountStatus-C-003-C on every "
                                        "non-commitment row",
    "CapacityReservationStatus-C-004-C": "its Condition is written {'AND': [...]}, a form the validator does not "
                                         "compile, so the rule applies to every row, including those without a "
                                         "capacity reservation",
}
_RULE_LINE = re.compile(r"^\S+\s+([A-Za-z0-9]+-[A-Z]-\d{3}-[A-Z]):\s+(PASS|FAIL|SKIPPED)\b")


class ValidatorUnavailable(RuntimeError):
    """No Python >= 3.12, or focus-validator could not be installed: the check cannot run here."""


@dataclass
class Report:
    """What the validator said about one file, judged against its own rule model."""

    status: dict[str, str]                      # rule id → PASS / FAIL / SKIPPED
    mandatory_failures: list[str] = field(default_factory=list)
    other_failures: list[str] = field(default_factory=list)
    derived: set[str] = field(default_factory=set)  # AND composites failed only through the rules above
    output: str = ""                            # the validator's console report
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.mandatory_failures

    def counts(self) -> dict[str, int]:
        out = {"PASS": 0, "FAIL": 0, "SKIPPED": 0}
        for s in self.status.values():
            out[s] += 1
        return out

    def summary(self) -> str:
        c = self.counts()
        lines = [f"FOCUS {FOCUS_VERSION} validator on {self.rows} rows: {len(self.status)} rules, "
                 f"{c['PASS']} passed, {c['FAIL']} failed, {c['SKIPPED']} skipped (not applicable or not "
                 f"implemented by the validator)",
                 f"mandatory rules failed: {len(self.mandatory_failures)}"
                 + (f" ({', '.join(self.mandatory_failures)})" if self.mandatory_failures else "")]
        defects = [r for r in self.other_failures if r in KNOWN_MODEL_DEFECTS]
        soft = [r for r in self.other_failures if r not in KNOWN_MODEL_DEFECTS and r not in self.derived]
        if soft:
            lines.append(f"non-mandatory (SHOULD/MAY, or under a SHOULD column) failed: {', '.join(soft)}")
        for r in defects:
            lines.append(f"not counted, a defect of the validator's rule model: {r}: {KNOWN_MODEL_DEFECTS[r]}")
        return "\n".join(lines)


# --- the side virtual environment --------------------------------------------------------------
def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def find_python() -> str | None:
    """A Python >= 3.12: $AISPEND_FOCUS_PYTHON, python3.12 / python3.13 on PATH, else pyenv's 3.12.1."""
    candidates = [os.environ.get("AISPEND_FOCUS_PYTHON"), shutil.which("python3.12"), shutil.which("python3.13")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        if root:
            candidates.append(str(Path(root) / "versions" / "3.12.1" / "bin" / "python"))
    for c in candidates:
        if c and Path(c).exists() and (_version_of(c) or (0, 0)) >= (3, 12):
            return c
    return None


def _stamp() -> str:
    return hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:12]


def ensure_validator(venv: Path = VENV_DIR) -> Path:
    """The side venv's python with focus-validator installed (created or reused); raises ValidatorUnavailable."""
    py = venv / "bin" / "python"
    marker = venv / f".installed-{_stamp()}"
    if py.exists() and marker.exists():
        return py
    base = find_python()
    if base is None:
        raise ValidatorUnavailable(
            "focus-validator 2.x needs Python >= 3.12 and none was found (tried $AISPEND_FOCUS_PYTHON, "
            "python3.12, python3.13 on PATH, $(pyenv root)/versions/3.12.1); install one, e.g. "
            "`pyenv install 3.12`, or point AISPEND_FOCUS_PYTHON at it")
    if not py.exists():
        r = subprocess.run([base, "-m", "venv", str(venv)], capture_output=True, text=True)
        if r.returncode != 0:
            raise ValidatorUnavailable(f"cannot create {venv} with {base}: {r.stderr.strip()[-500:]}")
    r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", *REQUIREMENTS], capture_output=True, text=True)
    if r.returncode != 0:
        raise ValidatorUnavailable(f"pip install {' '.join(REQUIREMENTS)} into {venv} failed: "
                                   f"{(r.stderr or r.stdout).strip()[-800:]}")
    for old in venv.glob(".installed-*"):
        old.unlink()
    marker.touch()
    return py


def _site_dir(py: Path) -> Path:
    """The directory holding the focus_validator package (the validator opens rule files relative to it)."""
    r = subprocess.run([str(py), "-c", "import focus_validator, os; print(os.path.dirname(os.path.dirname("
                                       "os.path.abspath(focus_validator.__file__))))"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise ValidatorUnavailable(f"focus_validator does not import in {py}: {r.stderr.strip()[-500:]}")
    return Path(r.stdout.strip())


# --- export --------------------------------------------------------------------------------------
# Lines of third-party FOCUS exports reach focus_costs as their provider wrote them (real exports
# are often not conformant upstream); `--converted-only` checks just the lines aispend maps itself,
# native exports converted through connectors/focus_mappings (x_source 'mapped:<mapping>') included.
PASSTHROUGH_SOURCES = ("focus_files", "aws_focus")


def export_focus_costs(db_path: Path, out: Path, *, exclude_sources: tuple[str, ...] = ()) -> int:
    """`main.focus_costs` from a warehouse file (opened read-only) → Parquet; returns the row count.

    Every column goes out: the FOCUS ones under their spec names, our extensions with the `x_`
    prefix the spec reserves for them. Lines whose `x_source` is in `exclude_sources` are left out.
    """
    import duckdb

    if not Path(db_path).exists():
        raise FileNotFoundError(f"no warehouse at {db_path}: run `make demo` (or `aispend run`) first")
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create temp table checked as select * from main.focus_costs "
                    "where not list_contains(?::varchar[], x_source)", [list(exclude_sources)])
        con.execute(f"copy checked to '{out.as_posix()}' (format parquet)")  # a path, not a value
        return con.execute("select count(*) from checked").fetchone()[0]
    finally:
        con.close()


# --- judging -----------------------------------------------------------------------------------
def _rule_model(site: Path) -> dict[str, dict]:
    files = sorted((site / "focus_validator" / "rules").glob(f"model-{FOCUS_VERSION}*.json"))
    if not files:
        raise ValidatorUnavailable(f"no FOCUS {FOCUS_VERSION} rule model under {site / 'focus_validator' / 'rules'}")
    return json.loads(files[-1].read_text())["ModelRules"]


def classify(status: dict[str, str], rules: dict[str, dict]) -> tuple[list[str], list[str], set[str]]:
    """(mandatory, other) failed rule ids, and the failed AND composites among them that failed only
    through failed children — see the module docstring for the rule."""
    parents: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)

    def walk(node, owner):
        if isinstance(node, dict):
            if node.get("CheckFunction") == "CheckModelRule":
                parents[node["ModelRuleId"]].add(owner)
                children[owner].add(node["ModelRuleId"])
            for v in node.values():
                walk(v, owner)
        elif isinstance(node, list):
            for v in node:
                walk(v, owner)

    for rid, rule in rules.items():
        walk(rule.get("ValidationCriteria", {}).get("Requirement"), rid)

    def must(rid: str) -> bool:
        return str(rules.get(rid, {}).get("ValidationCriteria", {}).get("Keyword", "")).startswith("MUST")

    required_memo: dict[str, bool] = {}

    def required(rid: str) -> bool:
        if rid not in required_memo:
            required_memo[rid] = False  # cycle guard
            required_memo[rid] = must(rid) and (not parents[rid] or any(required(p) for p in parents[rid]))
        return required_memo[rid]

    mandatory_memo: dict[str, bool] = {}

    def mandatory(rid: str) -> bool:
        if rid not in mandatory_memo:
            mandatory_memo[rid] = False
            req = rules.get(rid, {}).get("ValidationCriteria", {}).get("Requirement", {}) or {}
            failed_kids = [c for c in children[rid] if status.get(c) == "FAIL"]
            if not required(rid) or rid in KNOWN_MODEL_DEFECTS:
                verdict = False
            elif req.get("CheckFunction") == "AND" and failed_kids:
                verdict = any(mandatory(c) for c in failed_kids)
            else:
                verdict = True
            mandatory_memo[rid] = verdict
        return mandatory_memo[rid]

    failed = sorted(r for r, s in status.items() if s == "FAIL")
    hard = [r for r in failed if mandatory(r)]
    derived = {r for r in failed
               if (rules.get(r, {}).get("ValidationCriteria", {}).get("Requirement") or {}).get(
                   "CheckFunction") == "AND"
               and any(status.get(c) == "FAIL" for c in children[r])}
    return hard, [r for r in failed if r not in hard], derived


def validate(parquet: Path, py: Path | None = None, *, timeout: int = 900) -> Report:
    """Run `focus-validator --validate-version 1.2` on a Parquet file and judge its results."""
    py = py or ensure_validator()
    site = _site_dir(py)
    exe = py.parent / "focus-validator"
    cmd = [str(exe), "--validate-version", FOCUS_VERSION, "--data-file", str(Path(parquet).resolve()),
           "--applicability-criteria", APPLICABILITY, "--block-download", "--show-violations"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "LOG_LEVEL": "WARNING"}
    # cwd: the validator reads focus_validator/rules/currency_codes.csv relative to the working directory
    r = subprocess.run(cmd, cwd=site, capture_output=True, text=True, env=env, timeout=timeout)
    status = {}
    for line in r.stdout.splitlines():
        m = _RULE_LINE.match(line)
        if m:
            status[m.group(1)] = m.group(2)
    if r.returncode != 0 or not status:
        raise RuntimeError(f"focus-validator failed (exit {r.returncode}) on {parquet}:\n"
                           f"{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    hard, soft, derived = classify(status, _rule_model(site))
    return Report(status=status, mandatory_failures=hard, other_failures=soft, derived=derived, output=r.stdout)


def check_warehouse(db_path: Path, out_dir: Path, *, converted_only: bool = False) -> Report:
    """Export focus_costs from `db_path` and validate it."""
    parquet = out_dir / "focus_costs.parquet"
    rows = export_focus_costs(db_path, parquet, exclude_sources=PASSTHROUGH_SOURCES if converted_only else ())
    report = validate(parquet, ensure_validator())
    report.rows = rows
    return report


def _failure_section(output: str) -> str:
    i = output.find("--- Failures ---")
    return output[i:].rstrip() if i >= 0 else ""


def cmd_focus_check(args) -> int:
    """`aispend focus-check`: 0 when no mandatory rule fails, 1 when one does, 2 when the check cannot run."""
    from pipelines.config import default_home

    home = Path(args.home).resolve() if args.home else default_home()
    db = Path(args.warehouse) if args.warehouse else home / "warehouse" / "aispend.duckdb"
    out_dir = Path(args.out) if args.out else home / "focus-check"
    try:
        report = check_warehouse(db, out_dir, converted_only=args.converted_only)
    except (ValidatorUnavailable, FileNotFoundError) as e:
        print(f"focus-check cannot run: {e}", file=sys.stderr)
        return 2
    if args.verbose:
        print(report.output)
    else:
        fails = _failure_section(report.output)
        if fails:
            print(fails)
    print(f"\n{report.summary()}\n(exported file: {out_dir / 'focus_costs.parquet'})")
    return 0 if report.ok else 1


def add_parser(sub) -> None:
    """Register `focus-check` on the `aispend` CLI."""
    f = sub.add_parser("focus-check", help="export focus_costs to Parquet and run the FOCUS 1.2 validator on it")
    f.add_argument("--home", help="AISPEND_HOME (default ./data); the warehouse is <home>/warehouse/aispend.duckdb")
    f.add_argument("--warehouse", help="a warehouse file to check instead (opened read-only)")
    f.add_argument("--out", help="where to write focus_costs.parquet (default <home>/focus-check)")
    f.add_argument("--verbose", action="store_true", help="print every rule's result")
    f.add_argument("--converted-only", action="store_true",
                   help="check only the lines aispend converts itself (leave out FOCUS files passed through as "
                        "their provider wrote them: sources of type focus_files / aws_focus)")
    f.set_defaults(fn=cmd_focus_check)


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="focus-check")
    add_parser(p.add_subparsers(dest="cmd", required=True))
    a = p.parse_args(["focus-check", *sys.argv[1:]])
    sys.exit(a.fn(a))
