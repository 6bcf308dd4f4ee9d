"""Benchmark the posts API on PostgreSQL: `uv run python -m bench.run` (see bench/README.md).

First the bare FastAPI ceiling (bench/bare.py). Then for each dataset size: create and seed
`bench_posts_<size>` (or reuse it), start the app (one uvicorn worker, production settings),
get tokens, run each scenario with wrk, and print a table with the mixed login/list figures
and the worker's peak memory; at the largest size, the plans of the feed queries. Results
also go to bench/results/<time>.json.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench import bcrypt_capacity, logins, seed, writes, wrk
from bench.bcrypt_capacity import BcryptCapacity
from bench.cpu import CpuSplit, CpuWatch
from bench.explain import explain_feed
from bench.server import (
    PROJECT_ROOT,
    RESULTS,
    RssSampler,
    Server,
    app_env,
    bare_env,
    tree_rss_mb,
    wait_idle,
)
from bench.wrk import WrkResult

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_SIZES = (1_000, 1_000_000)
USERS = 10_000
SMOKE_USERS = 200
# Login is bcrypt at cost 12 (~0.25 s of CPU per request, a few threads at most): with 64
# connections, requests would mostly wait in the queue, close to wrk's timeout.
# Both the login scenario and the logins of the mixed scenario use 16 connections.
LOGIN_CONNECTIONS = 16
LOGIN_USERS = 16  # the login scenario cycles over seeded users 1..16
# Posts each wrk thread votes on, then unvotes, in turn (see bench/lua/vote.lua): far more
# than the requests a thread has in flight, few enough that a run goes through several passes
# (so that adding and removing votes are both measured).
VOTE_POSTS_PER_THREAD = 500
# Logins are slow (a few per second): runs that include them last at least this long, so
# that a short --smoke run still completes some.
LOGIN_MIN_DURATION = 3.0
# The references' routes on their server (bench/reference.py): the app's rows show their share
# of each reference measured in the same run.
REFERENCE_ROUTES = {"reference": "/login", "reference-session": "/login-with-session"}
# The scenarios whose requests are logins (bench/logins.py: 16 connections, LOGIN_MIN_DURATION
# after a warm-up), and those with logins in them (they need the bcrypt capacity).
LOGIN_SCENARIOS = ("login", *REFERENCE_ROUTES)
WITH_LOGINS = {*LOGIN_SCENARIOS, "mixed", "login-during-flood"}
# The rows whose requests are logins (bcrypt): shown as a share of the machine's capacity.
LOGIN_ROWS = (*LOGIN_SCENARIOS, "logins during list", "logins during flood")
# login-during-flood: one account's wrong passwords on this many connections (at least).
FLOOD_CONNECTIONS = 64
FLOOD_ROW = "flood (one account)"
BCRYPT_SECONDS = 10.0  # how long the machine's bcrypt capacity is measured, once per run

# name -> (Lua script, which tokens: reader / writer / none, warm-up before measuring); the
# logins of the login scenarios, mixed and login-during-flood come from bench/logins.py.
SCENARIOS: dict[str, tuple[str, str, bool]] = {
    "list": ("list", "reader", True),
    "deep": ("deep", "reader", True),
    "search": ("search", "reader", True),
    "search-rare": ("search", "reader", True),  # the scarce word only (SCENARIO_ENV)
    "get": ("get", "reader", True),
    # bench/floor.py, not the app: FastAPI and one query, the least a database read costs.
    "floor": ("floor", "none", True),
    # One connection, one wrk thread: the latency of a request with nothing queued before it
    # (with 64 connections on one worker, latency is mostly waiting in line).
    "list-c1": ("list", "reader", True),
    "search-c1": ("search", "reader", True),
    "vote": ("vote", "writer", False),  # a warm-up would leave votes: the cycle starts clean
    "create": ("create", "writer", False),
    # The writers' own posts, made before each run (bench/writes.py).
    "update": ("update", "writer", False),
    "patch": ("patch", "writer", False),
    "delete": ("delete", "writer", False),
    # A post's comments (two per seeded post), and commenting on posts (bench/lua/comment*.lua).
    "comments": ("comments", "reader", True),
    "comment": ("comment", "writer", False),
    "mixed": ("list", "reader", False),  # list while 16 logins run (see run_mixed)
    # bench/reference.py, not the app: the same logins on a plain thread-pool route, without
    # the session (reference) and with it, as the app's route (reference-session).
    "reference": ("-", "none", False),
    "reference-session": ("-", "none", False),
    "login": ("-", "none", False),
    # 16 logins while one account (the first writer) floods wrong passwords (see run_flood).
    "login-during-flood": ("flood", "writer", False),
}

# What a scenario's script reads differently from its environment's defaults (scenario_env).
SCENARIO_ENV: dict[str, dict[str, str]] = {
    "search-rare": {"BENCH_SEARCH_WORDS": seed.SCARCE_WORD},
}


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class SizeReport:
    posts: int
    users: int
    database: str
    reused: bool
    seed_seconds: float | None
    results: list[WrkResult] = field(default_factory=list)
    mixed: dict[str, Any] | None = None
    flood: dict[str, Any] | None = None
    cpu: dict[str, CpuSplit] = field(default_factory=dict)  # per login row: where the CPU went
    rss_idle_mb: float | None = None
    rss_peak_mb: float | None = None
    explain: dict[str, str] | None = None
    elapsed_s: float = 0.0  # the whole size: seeding, server, scenarios, plans


# --- context ---------------------------------------------------------------------------------


def _command(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cores": os.cpu_count(), "cpu": cpu, "load_average": os.getloadavg()[0]}


def git_version() -> dict[str, Any]:
    """The commit under test, and whether the server's code differs from it."""
    git = ("git", "-C", str(PROJECT_ROOT))
    commit = _command(*git, "rev-parse", "--short", "HEAD") or "unknown"
    changed = _command(
        *git, "status", "--porcelain", "--", "app", "migrations", "pyproject.toml", "uv.lock"
    )
    return {"commit": commit, "dirty": bool(changed), "changed_files": len(changed.splitlines())}


def postgres_info(server_url: str) -> dict[str, str]:
    with psycopg.connect(seed.database_url(server_url, _server_db(server_url))) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        buffers = conn.execute("SHOW shared_buffers").fetchone()
    return {
        "version": version[0] if version else "?",
        "shared_buffers": buffers[0] if buffers else "?",
    }


def _server_db(server_url: str) -> str:
    return make_url(server_url).database or "postgres"


def app_settings_from_environment() -> dict[str, str]:
    """Settings the app will read from this environment (or .env) besides the forced ones."""
    from app.core.config import Settings

    forced = {"DATABASE_URL", "ENVIRONMENT", "SECRET_KEY", "LOG_FORMAT", "BCRYPT_ROUNDS"}
    names = set(Settings.model_fields) - forced
    found = {name: os.environ[name] for name in sorted(names) if name in os.environ}
    dotenv = PROJECT_ROOT / ".env"
    if dotenv.exists():
        for line in dotenv.read_text().splitlines():
            name = line.split("=", 1)[0].strip()
            if name in names and name not in found:
                found[name] = line.split("=", 1)[1].strip() + " (from .env)"
    return found


# --- tokens ----------------------------------------------------------------------------------


def login(client: httpx.Client, email: str) -> str:
    response = client.post("/login", data={"username": email, "password": seed.PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


def register_and_login(client: httpx.Client, email: str) -> str:
    response = client.post("/users", json={"email": email, "password": seed.PASSWORD})
    response.raise_for_status()
    return login(client, email)


def tokens(base_url: str, run_id: str) -> dict[str, list[str]]:
    """Tokens for the wrk threads: seeded users (reads) and fresh users (writes).

    Writers are registered by this run, so they have no seeded votes (the vote cycle starts
    from "not voted") and everything they add is removed with them afterwards.
    """
    readers = [f"user{n}@{seed.EMAIL_DOMAIN}" for n in range(1, wrk.THREADS + 1)]
    writers = writes.writer_emails(run_id)
    with (
        httpx.Client(base_url=base_url, timeout=30) as client,
        concurrent.futures.ThreadPoolExecutor(4) as pool,
    ):
        reader_tokens = pool.map(lambda email: login(client, email), readers)
        writer_tokens = pool.map(lambda email: register_and_login(client, email), writers)
        return {"reader": list(reader_tokens), "writer": list(writer_tokens), "none": []}


# --- scenarios -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    duration: float
    connections: int
    warmup: float


def scenario_env(dataset: seed.Dataset, scenario_tokens: list[str]) -> dict[str, str]:
    return {
        **os.environ,
        "BENCH_TOKENS": ",".join(scenario_tokens),
        "BENCH_POSTS": str(dataset.posts),
        "BENCH_SEARCH_WORDS": ",".join(seed.SEARCH_WORDS),
        "BENCH_VOTE_POSTS": str(min(VOTE_POSTS_PER_THREAD, dataset.published // wrk.THREADS)),
    }


def run_logins(url: str, scenario: str, load: Load, watch: CpuWatch | None = None) -> WrkResult:
    """16 connections of logins (bench/logins.py): `rps` is their steady rate after a warm-up;
    `watch`, if any, watches the measured part."""
    duration = max(load.duration, LOGIN_MIN_DURATION)
    path = REFERENCE_ROUTES.get(scenario, "/login")
    return logins.run(
        url, scenario, LOGIN_CONNECTIONS, duration, LOGIN_USERS, watch=watch, path=path
    )


def run_scenario(
    name: str, url: str, env: dict[str, str], load: Load, watch: CpuWatch | None = None
) -> WrkResult:
    """One scenario (not mixed, not login-during-flood); `watch`, if any, watches its measured
    part (not the warm-up)."""
    if name in LOGIN_SCENARIOS:
        return run_logins(url, name, load, watch)
    script, _, warm = SCENARIOS[name]
    connections, duration, threads = load.connections, load.duration, wrk.THREADS
    if name.endswith("-c1"):
        connections, threads = 1, 1
    env = {**env, **SCENARIO_ENV.get(name, {})}
    if warm and load.warmup > 0:
        wrk.run(script, url, connections, load.warmup, env, threads=threads)
    with watch or nullcontext():
        return wrk.run(script, url, connections, duration, env, scenario=name, threads=threads)


def run_mixed(
    url: str, reader_env: dict[str, str], load: Load, watch: CpuWatch | None = None
) -> tuple[WrkResult, WrkResult]:
    """GET /posts under load while 16 logins (bcrypt) run, from their warm-up's end on."""
    duration = max(load.duration, LOGIN_MIN_DURATION)
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        login_run = thread.submit(run_logins, url, "logins during list", load)
        time.sleep(logins.WARMUP)
        with watch or nullcontext():
            list_result = wrk.run("list", url, load.connections, duration, reader_env)
        list_result = replace(list_result, scenario="list during logins")
        return list_result, login_run.result()


def run_flood(
    url: str, flood_env: dict[str, str], load: Load, watch: CpuWatch | None = None
) -> tuple[WrkResult, WrkResult]:
    """16 logins of seeded users while one account floods `PATCH /users/me` with wrong
    passwords on many connections (every one a bcrypt check): its logins half and its flood.
    `watch`, if any, watches the logins' measured part."""
    flooders = max(load.connections, FLOOD_CONNECTIONS)
    flooding = max(load.duration, LOGIN_MIN_DURATION) + logins.WARMUP
    flood = wrk.start("flood", url, flooders, flooding, flood_env, threads=1)
    login_result = run_logins(url, "logins during flood", load, watch)
    flood_result = wrk.finish(flood, FLOOD_ROW, flooders, flooding)
    # The flood's requests wait behind everyone else's logins (that is the point): those
    # that wait past wrk's timeout are not errors. The printed line gives their number.
    waited_out = flood_result.timeouts
    flood_result = replace(flood_result, socket_errors=flood_result.socket_errors - waited_out)
    return login_result, flood_result


def reference_server(database_url: str, log_name: str) -> Server:
    """The reference login's own server (bench/reference.py) over `database_url`."""
    server_env = {**bare_env(), "REFERENCE_DATABASE_URL": database_url}
    return Server("bench.reference:app", "/health", server_env, log_name)


def floor_server(database_url: str, log_name: str) -> Server:
    """The floor's own server (bench/floor.py) over `database_url`."""
    server_env = {**bare_env(), "FLOOR_DATABASE_URL": database_url}
    return Server("bench.floor:app", "/health", server_env, log_name)


def run_floor(database_url: str, run_id: str, env: dict[str, str], load: Load) -> WrkResult:
    """The floor scenario, on its own server over the same database."""
    with floor_server(database_url, f"floor-{run_id}.log") as floor:
        return run_scenario("floor", floor.url, env, load)


def run_reference(
    name: str,
    database_url: str,
    database: str,
    run_id: str,
    load: Load,
    cpu: dict[str, CpuSplit],
) -> WrkResult:
    """Reference login `name` (REFERENCE_ROUTES), on its own server over the same database;
    its CPU into `cpu`."""
    with reference_server(database_url, f"{name}-{run_id}.log") as reference:
        watch = CpuWatch(reference.pid, database)
        result = run_logins(reference.url, name, load, watch)
    cpu[name] = _split(watch)
    return result


def run_size(
    args: argparse.Namespace, dataset: seed.Dataset, selected: list[str], load: Load, explain: bool
) -> SizeReport:
    started = time.monotonic()
    prepared = seed.prepare(args.server, dataset, log)
    report = SizeReport(
        posts=dataset.posts,
        users=dataset.users,
        database=dataset.name,
        reused=prepared.reused,
        seed_seconds=prepared.seed_seconds,
    )
    run_id = uuid.uuid4().hex[:8]
    with Server("app.main:app", "/health/db", app_env(prepared.url), f"app-{run_id}.log") as app:
        all_tokens = tokens(app.url, run_id)
        envs = {kind: scenario_env(dataset, found) for kind, found in all_tokens.items()}
        report.rss_idle_mb = tree_rss_mb(app.pid)
        for name in selected:
            _, kind, _ = SCENARIOS[name]
            waited = wait_idle(app.pid)  # the previous scenario's backlog drained
            log(
                f"  {name} ..."
                + (f" (waited {waited:.1f}s for the server to drain)" if waited > 1.5 else "")
            )
            if name == "mixed":
                list_result, login_result = run_mixed(app.url, envs["reader"], load)
                report.results += [list_result, login_result]
                report.mixed = mixed_summary(report.results, list_result)
            elif name == "login-during-flood":
                watch = CpuWatch(app.pid, dataset.name)
                results = run_flood(app.url, envs["writer"], load, watch)
                report.results += results
                report.flood = flood_summary(report.results, results[0], results[1])
                report.cpu[results[0].scenario] = _split(watch)
            elif name in REFERENCE_ROUTES:
                report.results.append(
                    run_reference(name, prepared.url, dataset.name, run_id, load, report.cpu)
                )
            elif name == "login":
                watch = CpuWatch(app.pid, dataset.name)
                report.results.append(run_logins(app.url, name, load, watch))
                report.cpu[name] = _split(watch)
            elif name == "floor":
                report.results.append(run_floor(prepared.url, run_id, envs[kind], load))
            elif name == "list":
                with RssSampler(app.pid) as sampler:
                    report.results.append(run_scenario(name, app.url, envs[kind], load))
                report.rss_peak_mb = sampler.peak_mb
            else:
                env = {**envs[kind], **writes.prepare(name, prepared.url, run_id, load.duration)}
                report.results.append(run_scenario(name, app.url, env, load))
    if explain:
        # Without the posts the run created (they would head the feed, with no votes).
        seed.remove_bench_leftovers(prepared.url, dataset)
        report.explain = explain_feed(
            prepared.url,
            viewer_id=1,  # the user the list scenario's first wrk thread reads as
            queries={
                "list (GET /posts)": {},
                "deep (GET /posts?skip=10000)": {"skip": 10_000},
                f"search, common word (GET /posts?search={seed.SEARCH_WORDS[0]})": {
                    "search": seed.SEARCH_WORDS[0]
                },
                f"search, 0.1% word (GET /posts?search={seed.SCARCE_WORD})": {
                    "search": seed.SCARCE_WORD
                },
                f"search, rare word (GET /posts?search={seed.RARE_WORD})": {
                    "search": seed.RARE_WORD
                },
            },
        )
    report.elapsed_s = time.monotonic() - started
    return report


def _split(watch: CpuWatch) -> CpuSplit:
    assert watch.split is not None
    return watch.split


def flood_summary(results: list[WrkResult], logins: WrkResult, flood: WrkResult) -> dict[str, Any]:
    alone = next((r for r in results if r.scenario == "login"), None)
    ratio = logins.p99_ms / alone.p99_ms if alone and alone.p99_ms > 0 else None
    return {
        "login_p99_alone_ms": alone.p99_ms if alone else None,
        "login_p99_during_flood_ms": logins.p99_ms,
        "ratio": ratio,
        "logins_per_s_alone": alone.rps if alone else None,
        "logins_per_s_during_flood": logins.rps,
        "flood_connections": flood.connections,
        "flood_per_s": flood.rps,
        "flood_timeouts": flood.timeouts,
    }


def mixed_summary(results: list[WrkResult], during: WrkResult) -> dict[str, Any]:
    alone = next((r for r in results if r.scenario == "list"), None)
    ratio = during.p99_ms / alone.p99_ms if alone and alone.p99_ms > 0 else None
    return {
        "list_p99_alone_ms": alone.p99_ms if alone else None,
        "list_p99_with_logins_ms": during.p99_ms,
        "ratio": ratio,
    }


# --- output ----------------------------------------------------------------------------------

_ROW = "{:<20} {:>9} {:>9} {:>9} {:>8} {:>10} {:>10}"


def share(result: WrkResult, of: WrkResult | None) -> float | None:
    """`result`'s req/s as a percentage of `of`'s (None when `of` was not measured)."""
    return 100 * result.rps / of.rps if of and of.rps else None


def floor_of(report: SizeReport) -> WrkResult | None:
    """The floor measured in this size's run, if it was."""
    return next((r for r in report.results if r.scenario == "floor"), None)


def references_of(report: SizeReport) -> dict[str, WrkResult]:
    """The reference logins measured in this size's run, by scenario."""
    return {r.scenario: r for r in report.results if r.scenario in REFERENCE_ROUTES}


def reference_shares(result: WrkResult, references: dict[str, WrkResult]) -> dict[str, float]:
    """An app login row's logins/s as a percentage of each reference's (bench/reference.py)."""
    if result.scenario not in LOGIN_ROWS or result.scenario in REFERENCE_ROUTES:
        return {}
    shares = {name: share(result, reference) for name, reference in references.items()}
    return {name: value for name, value in shares.items() if value is not None}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def bcrypt_share(result: WrkResult, capacity: BcryptCapacity | None) -> float | None:
    """A login row's logins/s (steady, bench/logins.py) as a percentage of what the machine's
    cores can hash."""
    if result.scenario not in LOGIN_ROWS or capacity is None or not capacity.hashes_per_s:
        return None
    return 100 * result.rps / capacity.hashes_per_s


def _row(
    result: WrkResult,
    bare: WrkResult | None,
    floor: WrkResult | None,
    capacity: BcryptCapacity | None = None,
    label: str | None = None,
    references: dict[str, WrkResult] | None = None,
) -> str:
    row = _ROW.format(
        label or result.scenario,
        f"{result.rps:.2f}" if result.scenario in LOGIN_ROWS else f"{result.rps:.1f}",
        f"{result.p50_ms:.2f}",
        f"{result.p99_ms:.2f}",
        result.errors,
        _percent(share(result, bare)),
        _percent(share(result, floor)),
    )
    shares = []
    of_capacity = bcrypt_share(result, capacity)
    if of_capacity is not None:
        shares.append(f"{of_capacity:.1f}% of bcrypt capacity")
    for name, of_reference in reference_shares(result, references or {}).items():
        shares.append(f"{of_reference:.1f}% of {name}")
    return f"{row}  {', '.join(shares)}" if shares else row


def print_header(context: dict[str, Any]) -> None:
    m, pg, git = context["machine"], context["postgres"], context["git"]
    log(f"posts-api benchmark, {context['started']}")
    log(f"machine: {m['cores']} cores, {m['cpu']}; load average {m['load_average']:.2f} at start")
    log(f"PostgreSQL {pg['version']} (shared_buffers {pg['shared_buffers']})")
    dirty = f", DIRTY: {git['changed_files']} changed file(s) in app/ etc." if git["dirty"] else ""
    log(f"server: commit {git['commit']}{dirty}; one uvicorn worker; ENVIRONMENT=production")
    settings = context["app_settings"]
    log(
        "app settings from the environment: "
        + (", ".join(f"{k}={v}" for k, v in settings.items()) or "none")
    )
    log(
        f"load: wrk, {wrk.THREADS} threads, {context['connections']} connections "
        f"({LOGIN_CONNECTIONS} for login), {context['duration']:g}s per scenario, "
        f"timeout {wrk.TIMEOUT}"
    )


def print_size(report: SizeReport, bare: WrkResult | None, capacity: BcryptCapacity | None) -> None:
    floor = floor_of(report)
    seeded = "reused" if report.reused else f"seeded in {report.seed_seconds:.1f}s"
    log("")
    log(
        f"== {report.posts:,} posts, {report.users:,} users, "
        f"{report.posts * seed.VOTES_PER_POST:,} votes ({report.database}, {seeded}; "
        f"{report.elapsed_s:.0f}s in all)"
    )
    log(_ROW.format("scenario", "req/s", "p50 ms", "p99 ms", "errors", "% of bare", "% of floor"))
    if bare:
        log(_row(bare, bare, floor, label="bare (ceiling)"))
    references = references_of(report)
    for result in report.results:
        label = (
            f"{result.scenario} (c{result.connections})"
            if result.scenario in LOGIN_SCENARIOS
            else None
        )
        log(_row(result, bare, floor, capacity, label, references))
    if report.mixed:
        m = report.mixed
        alone = f"{m['list_p99_alone_ms']:.2f} ms" if m["list_p99_alone_ms"] else "n/a"
        ratio = f"x{m['ratio']:.1f}" if m["ratio"] else "n/a"
        log(
            f"mixed: GET /posts p99 alone {alone}, with {LOGIN_CONNECTIONS} concurrent logins "
            f"{m['list_p99_with_logins_ms']:.2f} ms ({ratio})"
        )
    if report.flood:
        f = report.flood
        alone = f"{f['login_p99_alone_ms']:.2f} ms" if f["login_p99_alone_ms"] else "n/a"
        ratio = f"x{f['ratio']:.1f}" if f["ratio"] else "n/a"
        log(
            f"login-during-flood: POST /login p99 alone {alone}, while one account sends "
            f"wrong passwords on {f['flood_connections']} connections "
            f"{f['login_p99_during_flood_ms']:.2f} ms ({ratio}); "
            f"the flood got {f['flood_per_s']:.1f} answers/s, {f['flood_timeouts']} of its "
            f"requests waited past wrk's {wrk.TIMEOUT}"
        )
    for row, split in report.cpu.items():
        served = next(r for r in report.results if r.scenario == row)
        log(f"cpu, {row}: {split.describe(served.rps * served.duration_s)}")
    if report.rss_peak_mb is not None:
        log(
            f"memory: worker RSS {report.rss_idle_mb:.1f} MB idle, "
            f"peak {report.rss_peak_mb:.1f} MB during the list load"
        )
    for name, plan in (report.explain or {}).items():
        log(f"\n-- EXPLAIN (ANALYZE, BUFFERS): {name}\n{plan}")


def display(path: Path) -> str:
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def scenarios_json(
    report: SizeReport, bare: WrkResult | None, capacity: BcryptCapacity | None
) -> list[dict[str, Any]]:
    """A size's rows, each with its shares of bare, the floor, the capacity and the references."""
    floor, references = floor_of(report), references_of(report)
    return [
        {
            **r.as_dict(),
            "pct_of_bare": share(r, bare),
            "pct_of_floor": share(r, floor),
            "pct_of_bcrypt_capacity": bcrypt_share(r, capacity),
            **{
                f"pct_of_{name.replace('-', '_')}": value
                for name, value in reference_shares(r, references).items()
            },
        }
        for r in report.results
    ]


def write_json(
    context: dict[str, Any],
    bare: WrkResult | None,
    capacity: BcryptCapacity | None,
    sizes: list[SizeReport],
) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{context['started'].replace(':', '').replace('-', '')}.json"
    document = {
        **context,
        "bare": bare.as_dict() if bare else None,
        "bcrypt_capacity": capacity.as_dict() if capacity else None,
        "sizes": [
            {
                **{k: v for k, v in vars(report).items() if k not in ("results", "cpu")},
                "cpu": {row: split.as_dict() for row, split in report.cpu.items()},
                "scenarios": scenarios_json(report, bare, capacity),
            }
            for report in sizes
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--posts", type=int, action="append", help="dataset size (repeatable; default 1k and 1M)"
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument(
        "--warmup",
        type=float,
        default=1,
        help="seconds of unmeasured load before each read scenario",
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"subset of {','.join(SCENARIOS)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the seeded databases")
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="PostgreSQL server URL where databases may be created (env BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI check: 1,000 posts, 1 s per scenario, 8 connections; fails on any error",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.posts, args.duration, args.connections, args.warmup = [1_000], 1.0, 8, 0.0
    args.posts = sorted(set(args.posts or DEFAULT_SIZES))
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def measure_bare(load: Load) -> WrkResult:
    with Server("bench.bare:app", "/bare", bare_env(), "bare.log") as bare:
        if load.warmup > 0:
            wrk.run("bare", bare.url, load.connections, load.warmup, {})
        return wrk.run("bare", bare.url, load.connections, load.duration, {})


def measure_bcrypt() -> BcryptCapacity:
    log(f"bcrypt capacity ({BCRYPT_SECONDS:g}s) ...")
    capacity = bcrypt_capacity.measure(BCRYPT_SECONDS)
    log(
        f"bcrypt capacity: {capacity.hashes_per_s:.2f} hashes/s (checkpw, cost {seed.BCRYPT_COST}) "
        f"on {capacity.threads} threads ({capacity.hashes} in {capacity.seconds:.1f}s; "
        f"{capacity.cpu_per_hash_ms:.1f} ms of CPU per check)"
    )
    return capacity


def finish_database(args: argparse.Namespace, dataset: seed.Dataset) -> None:
    """Drop the dataset's database, or with --keep bring it back to its seeded state."""
    if not args.keep:
        seed.drop(args.server, dataset.name)
    elif seed.exists(args.server, dataset.name):
        seed.remove_bench_leftovers(seed.database_url(args.server, dataset.name), dataset)


def failures(bare: WrkResult | None, sizes: list[SizeReport]) -> list[str]:
    """What makes a smoke run fail: any error, or a scenario that served nothing (but the
    flood of login-during-flood, which gets only what the logins leave: maybe nothing)."""
    results = ([bare] if bare else []) + [r for report in sizes for r in report.results]
    return [
        f"{r.scenario}: {r.errors} errors, {r.rps} req/s"
        for r in results
        if r.errors > 0 or (r.rps <= 0 and r.scenario != FLOOD_ROW)
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk.require_wrk()
    started = time.monotonic()
    selected = [name for name in SCENARIOS if name in args.scenarios.split(",")]
    load = Load(duration=args.duration, connections=args.connections, warmup=args.warmup)
    context = {
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "postgres": postgres_info(args.server),
        "git": git_version(),
        "app_settings": app_settings_from_environment(),
        "duration": args.duration,
        "connections": args.connections,
        "smoke": args.smoke,
    }
    print_header(context)
    log("bare FastAPI ceiling ...")
    bare = measure_bare(load)
    capacity = measure_bcrypt() if WITH_LOGINS & set(selected) else None
    reports: list[SizeReport] = []
    try:
        for posts in args.posts:
            dataset = seed.Dataset(posts, SMOKE_USERS if args.smoke else USERS, args.smoke)
            log(f"\n{dataset.name}: preparing ...")
            try:
                report = run_size(args, dataset, selected, load, posts == args.posts[-1])
                reports.append(report)
                print_size(report, bare, capacity)
            finally:
                finish_database(args, dataset)
    finally:
        path = write_json(context, bare, capacity, reports)
        log(f"\nresults: {display(path)} (total {time.monotonic() - started:.0f}s)")
    if args.smoke:
        problems = failures(bare, reports)
        if problems:
            log("SMOKE FAILED:\n  " + "\n  ".join(problems))
            return 1
        log("smoke OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
