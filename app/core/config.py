"""All limits and knobs in one Settings class, each overridable by a BPC_* environment variable."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every size that drives cost has a limit here. Env var: BPC_<FIELD NAME IN CAPS>."""

    model_config = SettingsConfigDict(env_prefix="BPC_", extra="ignore")

    # --- server ---
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_000_000
    # Origins whose pages may call the JSON API from a browser (CORS), e.g.
    # BPC_CORS_ORIGINS='["https://course.example.org"]'; "*" for any. Empty: same origin only.
    # Pages and /static are never shared. app/api/cors.py
    cors_origins: list[str] = []
    # Answers of at least this many bytes are gzipped for clients that accept it (a 1,000-gate
    # verbose answer, about 0.9 MB, shrinks about 10x); smaller ones are not worth the CPU.
    # 0 turns compression off.
    gzip_min_bytes: int = 65_536
    # zlib's level for them. Compression runs on the event loop, so its CPU holds up every other
    # request of the worker: a 101 x 101 slice's 192,016 bytes take 10.7 ms at level 5 and
    # 2.8 ms at level 1, for 91,830 against 97,100 bytes (docs/deploy.md).
    gzip_level: Annotated[int, Field(ge=1, le=9)] = 1
    # Connections (app/serve.py; uvicorn has no header timeout of its own): a connection must
    # finish each request's headers within header_timeout_s of opening or of its last answer;
    # past max_connections per worker process, the longest-idle connection is closed.
    header_timeout_s: float = 10.0
    max_connections: int = 1_000
    max_in_flight: int = 512  # requests handled at once per worker process; then 503 JSON
    # Compute (app/api/heavy.py, pool.py, lane.py): heavy jobs run in heavy_pool_workers processes per worker
    # process, each killed and replaced past job_deadline_s (413) and capped at
    # job_memory_bytes of data (RLIMIT_DATA: MemoryError, 413); evaluate runs on
    # evaluate_threads threads per worker process, evaluate_queue_limit more may wait (503).
    job_deadline_s: float = 10.0
    job_memory_bytes: int = 640 * 2**20  # an idle job process already has ~150 MB of data
    evaluate_threads: int = 2
    evaluate_queue_limit: int = 64
    compute_per_client: int = 4  # in-flight compute requests per client IP per worker (429)
    # beyond a client's first request in flight, its jobs' predicted seconds (cost model) at
    # most this, per worker (429): three clients at it still leave a line under
    # BPC_HEAVY_MAX_WAIT_S
    compute_seconds_per_client: float = 3.0
    # A rate on top (app/api/budget.py): each client address may start this many predicted
    # seconds of job-process work a minute per worker, this many at once (a token bucket);
    # beyond it 429. 0 turns it off. Honest page traffic is far below it: docs/deploy.md.
    compute_seconds_per_client_per_minute: float = 6.0
    compute_burst_seconds_per_client: float = 1.5
    # The worker's own rate, shared: while n clients are drawing on their buckets, each refills
    # at the smaller of its rate above and this / n (app/api/budget.py), so many addresses at
    # once cannot start more than the worker can run. About 60 x cores / workers; 0: no share.
    compute_seconds_per_minute: float = 60.0
    compute_budget_clients: int = 10_000  # buckets kept per worker; full ones are forgotten
    # an evaluate request whose expression is longer than this (characters) runs in a job
    # process (killable, memory-capped) at once; others first try the evaluate threads
    evaluate_in_process_max_size: int = 2_000
    # such a long text's predicted seconds, before it is parsed: its length at this pace
    # (measured: 6,000 products in 36,000 characters take 0.96 s, max() of 19,999 in 60,000
    # take 0.52 s); the job itself is still held to BPC_MAX_WORK once parsed
    evaluate_chars_per_second: float = 30_000.0
    evaluate_in_process_max_work: int = 10_000_000  # predicted work (cost model), ~30 ms
    # a circuit this short whose predicted work is at most this runs on the event loop itself:
    # under the GIL a thread would hold the loop as long, plus two hand-offs (0: never)
    evaluate_inline_max_size: int = 300
    evaluate_inline_max_work: int = 1_000_000  # ~2 ms at work_units_per_second's slow end
    # a landscape request predicted (cost model) to take at most this many seconds and this
    # much peak memory runs on the evaluate threads too: a /loss or a 1-D slice of a class's
    # data takes a millisecond or two, and a job process's hop each way cost more than that
    # (each played training step asks for both); 0 seconds: always a job process
    landscape_in_process_max_s: float = 0.02
    landscape_in_process_max_bytes: int = 16_000_000

    # --- circuits (issue 2) ---
    max_expression_chars: int = 200_000
    max_gates: int = 20_000
    max_nesting_depth: int = 200
    max_inputs: int = 200
    max_statements: int = 2_000
    max_literal_chars: int = 64
    gradcheck_max_evals: int = 2_000_000  # 2 x input elements x nodes
    # parsed circuits kept per process (LRU) so re-evaluating with new inputs skips the parser;
    # at most this many, and this many nodes in all (~560 bytes each: 100,000 is ~56 MB). A
    # circuit of at most 64 nodes also keeps its verbose rows' fixed parts and its answers'
    # templates (encode.py, answer_templates.py): a 63-node program asked for in every format
    # keeps 345 KB in all (sys.getsizeof over its memo), so up to ~88 MB more with every entry
    # such a circuit
    parse_cache_entries: int = 256
    parse_cache_nodes: int = 100_000

    # --- tensors (issue 3) ---
    max_tensor_elements_per_input: int = 100_000
    max_tensor_elements_per_node: int = 1_000_000
    max_tensor_elements_per_request: int = 4_000_000
    max_tensor_rank: int = 3
    max_tensor_matmul_work: int = 200_000_000  # multiply-adds of all @ and dot gates together

    # --- cost of one request, predicted before any work (issue 10; app/engine/cost.py,
    # app/landscape/cost.py; calibration in docs/deploy.md "Sizing") ---
    # answer bytes: circuits B_NODE*nodes + B_EDGE*edges + B_NUMBER*numbers reported;
    # landscapes B_NUMBER*(numbers in the answer)
    max_answer_bytes: int = 48_000_000
    # peak bytes: circuits 8*numpy elements + B_LISTED*numbers + 2*answer bytes + per node;
    # landscapes 8*(N*D + arrays of N*C) + B_LISTED*numbers + 2*answer bytes
    max_memory_bytes: int = 400_000_000
    # element operations + multiply-adds (+ a per-gate overhead); a gradient check adds
    # 2 x input elements x one forward pass; a 2-D grid N*C*points x the variant's weight
    max_work: int = 2_000_000_000
    # how fast work units go, to predict a job's seconds before it runs (the pools admit by
    # the predicted seconds waiting ahead, BPC_HEAVY_MAX_WAIT_S); calibrated by
    # bench/cost_calibration.py at 0.5-2 ns per unit, so the slow end is taken
    work_units_per_second: float = 500_000_000.0
    optimize_work_units_per_second: float = 3_000_000_000.0  # BPC_MAX_OPTIMIZE_WORK's units

    # --- landscapes (issue 4) ---
    max_landscape_n: int = 50_000
    max_landscape_nd: int = 4_000_000
    max_landscape_c: int = 100
    max_grid_points: int = 40_401  # 201 x 201
    max_slice_steps: int = 10_001
    max_optimize_steps: int = 2_000
    max_optimize_work: int = 6_000_000_000  # steps*N*max(C,10)*(D+100): about 2 s of GD
    max_compare_runs: int = 12  # runs in one /compare (strategies x step sizes), all in its work
    max_term_lines: int = 60  # N*C at most for per-term lines in a 1-D slice
    max_slice_kinks: int = 100_000  # kinks listed in a 1-D slice answer (the count is always exact)
    max_loss_matrix_cells: int = 200_000  # N*C at most for margins/active matrices in /loss
    max_gradcheck_entries: int = 2_000  # weights checked numerically (a seeded sample if more)
    max_circuit_terms: int = 60  # N*C at most for /landscape/circuit
    max_landscape_nc: int = 1_000_000  # N*C: hinge terms of a slice (bounds its memory)

    # --- classroom deployment (issue 7) ---
    presets_file: str | None = None
    heavy_pool_workers: int = 1  # job processes per worker process (see job_deadline_s)
    # False: each pool starts its job processes at its first job instead of with the server.
    # For test tooling that starts the app hundreds of times and rarely sends it a job
    # (scripts/mutation.sh: two process imports per test client were most of a mutant's time);
    # a server should start them at once, so no request waits for their imports.
    job_processes_at_start: bool = True
    heavy_queue_limit: int = 64  # waiting expensive requests per process, at most...
    heavy_max_wait_s: float = 10.0  # ...and no more than this much work waiting (503 beyond)
    # The landscape's job processes' nice. 0 since the per-client budgets bound what any client
    # may start: at 10, a class's 101 x 101 slices waited behind the event loops' floods of
    # refused attacks (p99 1,647-1,656 ms in bench/abuse.py against 862-889 ms at 0;
    # docs/benchmarks.md, "Abuse").
    heavy_pool_nice: int = 0
    bulk_pool_nice: int = 15  # large circuits' job processes: below page traffic as well
    access_log: bool = True  # JSON lines on stdout
    instance_id: str | None = None  # X-Instance header; default <hostname>-<pid>
    # Origins whose pages may show ours in an iframe (a slide, a course page), comma-separated:
    # BPC_FRAME_ANCESTORS='https://slides.example.org, https://course.example.org'. The CSP's
    # frame-ancestors is 'self' plus these; empty: this site's own pages only (app/api/middleware.py)
    frame_ancestors: str = ""

    # --- lessons (issue 14; app/lessons, docs/lessons.md) ---
    # A teacher's folder of lesson files (*.md), listed beside the built-in ones; every file is
    # read and checked at start-up, so the limits below bound that work and the memory it keeps.
    lessons_dir: str | None = None
    # bytes per lesson file: a step of prose, a view and two questions is about 1-2 KB, so
    # this holds 30 such steps with room to spare, and is read before anything is parsed
    lesson_max_bytes: int = 65_536
    lessons_max_count: int = 200  # lesson files in the folder (each parsed and its circuits run)
    lesson_max_steps: int = 60  # steps in one lesson (a page's progress bar stays readable)
    lesson_max_questions: int = 10  # questions in one step

    # --- live class (issue 15; app/classroom, docs/deploy.md "The class store") ---
    # Where classes live: sqlite:///path (one file shared by a machine's worker processes; four
    # slashes for an absolute path; made on first use), redis://host:port/db (shared by
    # replicas behind a load balancer) or memory (one worker process only: each would see its
    # own classes). A malformed value stops start-up.
    store: str = "sqlite:///data/class.db"
    class_ttl_s: float = 4 * 3600.0  # a class ends by itself this long after it starts
    class_capacity: int = 300  # students per class (a teacher may ask for fewer)
    # wrong join codes one client address may try a minute (429 beyond): with 31**8 codes and
    # 100 live classes one guess in 8.5e9 is right, so a year of guessing at 30 a minute has
    # about a 0.2 % chance of finding one. Right codes never count (a school behind one address)
    class_join_failures_per_minute: int = 30
    class_name_max_chars: int = 40  # a student's display name
    class_answer_max_chars: int = 200  # a text answer
    class_text_max_chars: int = 1_000  # a question's prompt, each option, a reveal's rule
    class_options_max: int = 10  # options of a choice question
    class_link_max_chars: int = 2_000  # a pushed view's page link
    # pushes, reveals and answers in one class's stream (each answer change is one): 300
    # students answering 30 questions twice each is 18,000
    class_max_events: int = 20_000
    class_streams_per_worker: int = 400  # live event connections per worker process (503)
    class_poll_s: float = 0.2  # how often a worker reads a followed class's stream
    class_heartbeat_s: float = 15.0  # a comment line on an idle stream (nginx reads for 30 s)

    @field_validator("store")
    @classmethod
    def _a_known_store(cls, value: str) -> str:
        from app.store import store_target

        store_target(value)  # its ValueError is reported as BPC_STORE's problem
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
