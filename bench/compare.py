"""Before/after in one run: `uv run python -m bench.compare REF` (see bench/README.md).

Checks out REF (an earlier commit) in a temporary git worktree, prepares one database for it
(migrated by REF's own migrations) and one for this checkout, both seeded with the same
dataset, starts both apps (one uvicorn worker each, production settings, the same Python
environment), and runs the selected scenarios against each in turn, round after round, so
that the machine's drift over the run weighs on both alike. Prints, per scenario, the median
req/s and p99 of each side over the rounds, the ratio after/before, and the CPU time the
server spent per response. Every bench.run scenario can be compared: `floor` runs on a floor
server of each side's own (bench/floor.py over that side's database), `mixed` gives two rows
(its list and its login halves), and the write scenarios get what they need before each run
(bench/writes.py). `reference` runs on a reference login server of each side's own
(bench/reference.py), `login-during-flood` gives two rows (its logins and the flood). With
login scenarios, each round starts with the machine's bcrypt capacity, and login rows show
their steady rate's share of it and where the CPU went (bench/cpu.py). `--also COMMIT`
(repeatable) adds further sides to the same rounds, each compared with REF: several variants
measured in one run.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import seed, writes
from bench.cpu import CpuSplit, CpuWatch, describe_split
from bench.run import (
    DEFAULT_SERVER,
    LOGIN_ROWS,
    REFERENCE_ROUTES,
    SCENARIOS,
    USERS,
    WITH_LOGINS,
    Load,
    floor_server,
    log,
    measure_bcrypt,
    reference_server,
    run_flood,
    run_mixed,
    run_scenario,
    scenario_env,
    tokens,
)
from bench.server import PROJECT_ROOT, Server, app_env, wait_idle
from bench.wrk import WrkResult


@dataclass
class Side:
    label: str
    dataset: seed.Dataset
    cwd: Path
    # Per table row (a scenario, or a half of mixed), one entry per round.
    results: dict[str, list[WrkResult]] = field(default_factory=dict)
    # CPU time the server's process spent per response, in µs (mixed: over both halves).
    cpu_us: dict[str, list[float]] = field(default_factory=dict)
    # Login rows: logins/s as a share of the round's bcrypt capacity (%), and where the CPU went.
    capacity_pct: dict[str, list[float]] = field(default_factory=dict)
    splits: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # per response


@dataclass
class Running:
    """A side's servers and what its scenarios need."""

    app: Server
    floor: Server | None  # when `floor` is compared
    reference: Server | None  # when a reference (REFERENCE_ROUTES) is compared
    envs: dict[str, dict[str, str]]  # per kind of tokens (run.scenario_env)
    database_url: str
    run_id: str  # its writers' (bench/writes.py)


def measure(name: str, running: Running, load: Load) -> tuple[list[WrkResult], float, CpuSplit]:
    """One measured run of scenario `name` (after its warm-up, if it gets one) on one side:
    its results (two for mixed), the server's CPU µs per response, and where the machine's
    CPU went."""
    if name == "floor":
        server = running.floor
    elif name in REFERENCE_ROUTES:
        server = running.reference
    else:
        server = running.app
    assert server is not None
    _, kind, warm = SCENARIOS[name]
    env = {
        **running.envs[kind],
        **writes.prepare(name, running.database_url, running.run_id, load.duration),
    }
    if warm and load.warmup:  # unmeasured
        run_scenario(name, server.url, env, Load(load.warmup, load.connections, 0))
    measured = Load(load.duration, load.connections, 0)
    # Over the measured part only (logins: after their warm-up, bench/logins.py).
    watch = CpuWatch(server.pid, make_url(running.database_url).database or "")
    if name == "mixed":
        results = list(run_mixed(server.url, env, measured, watch))
    elif name == "login-during-flood":
        results = list(run_flood(server.url, env, measured, watch))
    else:
        results = [run_scenario(name, server.url, env, measured, watch)]
    assert watch.split is not None
    responses = sum(r.rps * r.duration_s for r in results)
    cpu = 1e6 * sum(watch.split.server.values()) / max(responses, 1)
    return results, cpu, watch.split


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _summary(results: list[WrkResult]) -> tuple[float, float]:
    return (
        statistics.median(r.rps for r in results),
        statistics.median(r.p99_ms for r in results),
    )


def median_split(splits: list[dict[str, float]]) -> dict[str, float]:
    """Each part's median over the rounds."""
    return {name: statistics.median(s.get(name, 0.0) for s in splits) for name in splits[0]}


def print_summary(before: Side, after: Side) -> None:
    """Per row, the medians of `before` and `after` and their ratio; for login rows, their
    steady rates and shares of the bcrypt capacity."""
    log("")
    log(f"{before.label} against {after.label}:")
    log(f"{'scenario':<20} {'before req/s':>13} {'after req/s':>12} {'after/before':>13}"
        f" {'before p99':>11} {'after p99':>10} {'before CPU':>11} {'after CPU':>10}")  # fmt: skip
    for row in before.results:
        before_rps, before_p99 = _summary(before.results[row])
        after_rps, after_p99 = _summary(after.results[row])
        before_cpu = statistics.median(before.cpu_us[row])
        after_cpu = statistics.median(after.cpu_us[row])
        ratio = f"{100 * after_rps / before_rps:>12.1f}%" if before_rps else f"{'-':>13}"
        log(
            f"{row:<20} {before_rps:>13.1f} {after_rps:>12.1f} {ratio}"
            f" {before_p99:>11.2f} {after_p99:>10.2f} {before_cpu:>11.0f} {after_cpu:>10.0f}"
        )
    log(
        "(medians over the rounds; p99 in ms; CPU: the server process's µs per response, "
        "the app's, or the floor's for floor; mixed's over the responses of both halves)"
    )
    for row in before.capacity_pct:
        share_before, share_after = (
            statistics.median(side.capacity_pct[row]) for side in (before, after)
        )
        log(
            f"{row}: {share_before:.1f}% of bcrypt capacity before, {share_after:.1f}% after "
            "(medians of each round's share of that round's capacity)"
        )
        for side in (before, after):
            if side.splits.get(row):
                log(f"  cpu, {side.label}: {describe_split(median_split(side.splits[row]))}")


def print_pairs(side: Side) -> None:
    """`login` against each reference measured on the same side in the same round (a minute
    apart, on the same capacity): the median ratio, its range, and in how many rounds it was
    under 100%."""
    for reference in REFERENCE_ROUTES:
        if "login" not in side.results or reference not in side.results:
            continue  # not both measured
        pairs = zip(side.results["login"], side.results[reference], strict=True)  # one per round
        ratios = [100 * login.rps / ref.rps for login, ref in pairs if ref.rps]
        if not ratios:
            continue
        under = sum(ratio < 100 for ratio in ratios)
        median = statistics.median(ratios)
        log(
            f"login / {reference}, {side.label}, same round: median {median:.1f}%"
            f" ({min(ratios):.1f}-{max(ratios):.1f}%), under 100% in {under} of {len(ratios)}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("ref", help="the commit to compare with (before)")
    parser.add_argument(
        "--after", help="another commit as the after side (default: this checkout as it is)"
    )
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="COMMIT",
        help="a further side, measured in the same rounds and compared with REF (repeatable)",
    )
    parser.add_argument("--posts", type=int, default=1_000_000, help="dataset size")
    parser.add_argument("--scenarios", default="list,get", help="subset of bench.run's")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the seeded databases")
    parser.add_argument("--server", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER))
    args = parser.parse_args(argv)
    selected = args.scenarios.split(",")
    unknown = set(selected) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    load = Load(args.duration, args.connections, args.warmup)

    before_commit = _git("rev-parse", "--short", args.ref)
    after_commit = _git("rev-parse", "--short", args.after or "HEAD")
    dirty = ""
    if args.after is None and _git("status", "--porcelain", "--", "app"):
        dirty = " (with uncommitted changes)"
    also_commits = [_git("rev-parse", "--short", ref) for ref in args.also]
    also = "".join(f", also {commit}" for commit in also_commits)
    log(f"bench.compare: before {before_commit} ({args.ref}), after {after_commit}{dirty}{also}")
    log(
        f"{args.posts:,} posts; {args.rounds} rounds of {', '.join(selected)}; "
        f"{args.connections} connections, {args.duration:g}s each; load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )

    with tempfile.TemporaryDirectory(prefix="bench-before-") as scratch, ExitStack() as stack:

        def check_out(ref: str, name: str) -> Path:
            checkout = Path(scratch) / name
            _git("worktree", "add", "--detach", str(checkout), ref)
            stack.callback(_git, "worktree", "remove", "--force", str(checkout))
            return checkout

        def earlier(commit: str, checkout: Path) -> seed.Dataset:
            return seed.Dataset(
                args.posts, USERS, migrations_from=str(checkout), suffix=f"_{commit}"
            )

        before = check_out(args.ref, "before")
        sides = [Side(f"before {before_commit}", earlier(before_commit, before), before)]
        if args.after is None:
            sides.append(
                Side(f"after {after_commit}", seed.Dataset(args.posts, USERS), PROJECT_ROOT)
            )
        else:
            after = check_out(args.after, "after")
            sides.append(Side(f"after {after_commit}", earlier(after_commit, after), after))
        for number, (ref, commit) in enumerate(zip(args.also, also_commits, strict=True)):
            checkout = check_out(ref, f"also-{number}")
            sides.append(Side(f"also {commit}", earlier(commit, checkout), checkout))
        run_id = uuid.uuid4().hex[:8]
        running: list[Running] = []
        for number, side in enumerate(sides):
            prepared = seed.prepare(args.server, side.dataset, log)
            if not args.keep:
                stack.callback(seed.drop, args.server, side.dataset.name)
            stack.callback(seed.remove_bench_leftovers, prepared.url, side.dataset)
            server = stack.enter_context(
                Server(
                    "app.main:app",
                    "/health/db",
                    app_env(prepared.url),
                    f"compare-{run_id}-{number}.log",
                    cwd=side.cwd,
                )
            )
            floor = None
            if "floor" in selected:
                floor_log = f"floor-{run_id}-{number}.log"
                floor = stack.enter_context(floor_server(prepared.url, floor_log))
            reference = None
            if set(REFERENCE_ROUTES) & set(selected):
                reference_log = f"reference-{run_id}-{number}.log"
                reference = stack.enter_context(reference_server(prepared.url, reference_log))
            side_run = f"{run_id}{number}"
            found = tokens(server.url, side_run)
            envs = {kind: scenario_env(side.dataset, t) for kind, t in found.items()}
            running.append(Running(server, floor, reference, envs, prepared.url, side_run))

        server_pids = [
            s.pid for r in running for s in (r.app, r.floor, r.reference) if s is not None
        ]
        logins = bool(WITH_LOGINS & set(selected))
        for round_number in range(1, args.rounds + 1):
            capacity = None
            if logins:  # each round's own: the machine drifts over a long comparison
                for pid in server_pids:
                    wait_idle(pid)
                capacity = measure_bcrypt().hashes_per_s
            for name in selected:
                # Each round, another side goes first (two sides: they alternate).
                first = (round_number - 1) % len(sides)
                order = [(first + k) % len(sides) for k in range(len(sides))]
                for number in order:
                    side = sides[number]
                    # Every server idle, not only this side's: the other side may still be
                    # working through requests of its closed connections (bcrypt above all).
                    for pid in server_pids:
                        wait_idle(pid)
                    results, cpu, split = measure(name, running[number], load)
                    for result in results:
                        side.results.setdefault(result.scenario, []).append(result)
                        side.cpu_us.setdefault(result.scenario, []).append(cpu)
                        log(
                            f"  round {round_number}, {result.scenario}, {side.label}: "
                            f"{result.rps:.1f} req/s, p99 {result.p99_ms:.2f} ms, "
                            f"{cpu:.0f} µs CPU/response, {result.errors} errors"
                        )
                        if result.scenario in LOGIN_ROWS and capacity:
                            pct = 100 * result.rps / capacity
                            side.capacity_pct.setdefault(result.scenario, []).append(pct)
                            cpu_line = ""
                            if name != "mixed":  # there the list's CPU would count as the logins'
                                per = split.per_response(result.rps * result.duration_s)
                                side.splits.setdefault(result.scenario, []).append(per)
                                cpu_line = f"; {describe_split(per)}"
                            log(f"    {pct:.1f}% of bcrypt capacity{cpu_line}")

    for other in sides[1:]:
        print_summary(sides[0], other)
    log("")
    for side in sides:
        print_pairs(side)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
