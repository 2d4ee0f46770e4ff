/**
 * Every /api/v1 endpoint called with a typed body, its answer and its errors read with types
 * generated from /openapi.json by openapi-typescript (`schema.d.ts`, not committed).
 *
 * tests/test_typescript_client.py generates the types from the app and type-checks this file
 * with `tsc --noEmit --strict`; it is never run. A field renamed or retyped in the document, an
 * endpoint added without a call here, or a looser schema (the @ts-expect-error lines) fails it.
 */
import type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
type OperationId = keyof operations;

// Each operation's address: a new operation in the document is a compile error until it is here.
const ADDRESS = {
  liveness: "/healthz",
  readiness: "/readyz",
  listGates: "/api/v1/gates",
  listPresets: "/api/v1/presets",
  evaluateCircuit: "/api/v1/circuits/evaluate",
  listDatasets: "/api/v1/landscape/datasets",
  uploadDatasetCsv: "/api/v1/landscape/datasets/csv",
  landscapeLoss: "/api/v1/landscape/loss",
  landscapeSlice: "/api/v1/landscape/slice",
  landscapeOptimize: "/api/v1/landscape/optimize",
  landscapeCircuit: "/api/v1/landscape/circuit",
  landscapeNumericalGradient: "/api/v1/landscape/numerical-gradient",
  landscapeCompare: "/api/v1/landscape/compare",
  landscapeCatalog: "/api/v1/landscape/catalog",
  listLessons: "/api/v1/lessons",
  getLesson: "/api/v1/lessons/{lesson_id}",
  checkLessonAnswer: "/api/v1/lessons/{lesson_id}/check",
  startClass: "/api/v1/classes",
  joinClass: "/api/v1/classes/join",
  pushView: "/api/v1/classes/{class_id}/push",
  answerQuestion: "/api/v1/classes/{class_id}/answer",
  revealAnswer: "/api/v1/classes/{class_id}/reveal",
  showNames: "/api/v1/classes/{class_id}/names",
  classAnswers: "/api/v1/classes/{class_id}/answers.csv",
  endClass: "/api/v1/classes/{class_id}/end",
  classEvents: "/api/v1/classes/{class_id}/events",
} as const satisfies Record<OperationId, keyof paths>;

/** The JSON an operation's response with this status carries, whatever its media type. */
type Answer<K extends OperationId, S extends number> = operations[K]["responses"] extends {
  [status in S]: { content: infer C };
}
  ? C[keyof C]
  : never;
/** The JSON body an operation takes. */
type Body<K extends OperationId> = operations[K] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : never;
/** Every error, from every layer, has this one shape. */
type ErrorBody = Answer<"evaluateCircuit", 422>;

type Result<K extends OperationId> =
  | { ok: true; data: Answer<K, 200> }
  | { ok: false; status: number; error: ErrorBody };

/** An address's path parameters ({lesson_id}) filled in. */
type PathParams = Record<string, string>;

async function send<K extends OperationId>(id: K, init: RequestInit, params: PathParams = {}): Promise<Result<K>> {
  const address = ADDRESS[id].replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
  const response = await fetch(address, init);
  const json: unknown = await response.json();
  if (response.ok) return { ok: true, data: json as Answer<K, 200> };
  return { ok: false, status: response.status, error: json as ErrorBody };
}

function get<K extends OperationId>(id: K, params?: PathParams): Promise<Result<K>> {
  return send(id, { method: "GET" }, params);
}

function post<K extends OperationId>(id: K, body: Body<K>, params?: PathParams): Promise<Result<K>> {
  return send(
    id,
    {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    },
    params,
  );
}

/** Where and what: a parse error's line and column, a limit's setting, a busy server's wait. */
export function describe(error: ErrorBody): string {
  return error.detail
    .map((problem) => {
      const where = problem.line !== undefined ? ` at line ${problem.line}, col ${problem.col}` : "";
      const setting = problem.setting ? ` (${problem.setting}: ${problem.got} > ${problem.limit})` : "";
      const caret = problem.excerpt ? `\n${problem.excerpt}\n${problem.caret ?? ""}` : "";
      const kind: string = problem.type;
      return `${kind} ${problem.loc.join(".")}${where}: ${problem.msg}${setting}${caret}`;
    })
    .join("\n");
}

const number = (value: Schemas["OutputOut"]["value"]): number =>
  typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;

export async function circuits(): Promise<string[]> {
  const seen: string[] = [];
  const live = await get("liveness");
  const ready = await get("readiness");
  if (live.ok && ready.ok) seen.push(`${live.data.status} ${ready.data.status}`);

  const gates = await get("listGates");
  if (gates.ok) {
    for (const gate of gates.data.gates) {
      const arity = typeof gate.arity === "number" ? `${gate.arity}` : `${gate.arity.min}+`;
      seen.push(`${gate.name} ${gate.symbol} ${arity}: ${gate.rule}`);
    }
  }

  const presets = await get("listPresets");
  if (presets.ok) {
    for (const preset of presets.data.presets) {
      // a number per input, or nested lists for a tensor input (a teacher's presets file)
      const gradients = preset.expected?.gradients ?? {};
      seen.push(`${preset.id} (${preset.source}): ${Object.keys(gradients).join(", ")}`);
    }
  }

  // the course's example: (x + y) * z at x = -2, y = 5, z = -4
  const answer = await post("evaluateCircuit", {
    expression: "(x + y) * z",
    inputs: { x: -2, y: 5, z: -4 },
    gradcheck: true,
  });
  if (!answer.ok) return [describe(answer.error)];
  const result = answer.data;
  if ("strings" in result) {
    seen.push(`compact: ${result.strings.length} strings, output node ${result.output}`);
  } else {
    seen.push(`output ${number(result.output?.value ?? "NaN")}`);
    for (const step of result.backward ?? []) {
      const kink = step.kink ? ` (${step.kink.kind}: ${step.kink.interval[0]?.join(" to ")})` : "";
      const sent = step.inputs.map((input) => `${input.node} += ${JSON.stringify(input.contribution)}`);
      seen.push(`${step.rule}${kink}: ${sent.join(", ")}`);
    }
    for (const warning of result.warnings ?? []) {
      seen.push("pass" in warning ? `${warning.pass}: ${warning.value} at ${warning.node}` : warning.msg);
    }
    const check = result.gradcheck;
    if (check) seen.push(...check.inputs.map((i) => `${i.name} ${i.status} ${i.rel_error ?? "-"}`));
    const stats = result.stats;
    if (stats) seen.push(`${stats.gates} gates, fast path ${stats.fast_path}`);
  }

  // a parse error: where it is, typed
  const bad = await post("evaluateCircuit", { expression: "(x + ", inputs: { x: 1 } });
  if (!bad.ok) {
    const first = bad.error.detail[0];
    const line: number | undefined = first?.line;
    const col: number | undefined = first?.col;
    seen.push(`${bad.status} at ${line}:${col} ${first?.excerpt ?? ""}`);
  }
  return seen;
}

export async function landscape(csv: Blob): Promise<string[]> {
  const seen: string[] = [];
  const catalog = await get("landscapeCatalog");
  if (catalog.ok) seen.push(...catalog.data.datasets.map((row) => `${row.name}: ${row.options.join(",")}`));
  const datasets = await get("listDatasets");
  if (datasets.ok) seen.push(...datasets.data.map((row) => row.name));

  const form = new FormData();
  form.append("file", csv, "points.csv");
  const uploaded = await send("uploadDatasetCsv", { method: "POST", body: form });
  if (!uploaded.ok) return [describe(uploaded.error)];
  const { X, y } = uploaded.data;

  const W = [[0.3], [-0.2], [0.6]];
  const loss = await post("landscapeLoss", { dataset: { name: "cs231n-1d" }, W, gradcheck: true });
  if (loss.ok) {
    const dW: number[][] = loss.data.grad_W;
    const worst: number | undefined = loss.data.gradcheck?.rel_error;
    seen.push(`loss ${loss.data.loss}, dW ${JSON.stringify(dW)}, worst ${worst}`);
    seen.push(`L_i ${loss.data.per_example.join(" ")}`);
  }
  const own = await post("landscapeLoss", { dataset: { X, y, c: 3 }, loss: "softmax", reg: 0.1 });
  if (!own.ok) seen.push(describe(own.error));

  const line = await post("landscapeSlice", {
    dataset: { name: "cs231n-1d" },
    W,
    direction: "axis",
    axis: [0, 0],
    range: [-2, 2],
    samples: 9,
  });
  if (line.ok) {
    const interval: [number, number] | undefined = line.data.subgradient?.interval;
    const kinks = (line.data.kinks ?? []).map((k) => `${k.alpha}: ${k.slope_left} to ${k.slope_right}`);
    const lines = (line.data.per_example_lines ?? []).map((l) => `L_${l.i}: ${l.values.length}`);
    seen.push(`subgradient ${interval}`, ...kinks, ...lines);
  }
  const grid = await post("landscapeSlice", {
    dataset: { name: "blobs", n: 30, d: 2, c: 3, seed: 1 },
    dims: 2,
    directions: ["random", "random"],
    beta_range: [-1, 1],
    samples: 11,
  });
  if (grid.ok) seen.push(`${grid.data.betas?.length} rows of ${grid.data.alphas.length}`);

  const run = await post("landscapeOptimize", { dataset: { name: "toy-2d" }, strategy: "sgd", steps: 20 });
  if (run.ok) seen.push(`${run.data.steps_taken} steps, diverged ${run.data.diverged}, off ${run.data.path.off_plane[0]}`);

  const steps = await post("landscapeNumericalGradient", { dataset: { name: "cs231n-1d" }, W, loss: "softmax", samples: 5 });
  if (steps.ok) seen.push(`h ${steps.data.hs[0]}: centred ${steps.data.centred[0]}, forward ${steps.data.forward[0]} (check at ${steps.data.check_h})`);

  const compared = await post("landscapeCompare", { dataset: { name: "cs231n-1d" }, W, strategies: ["gd", "adam"], step_sizes: [0.1, 1], steps: 5 });
  if (compared.ok) seen.push(...compared.data.runs.map((r) => `${r.strategy} ${r.step_size}: ${r.final_loss} after ${r.steps_taken}${r.diverged ? " (diverged)" : ""}`));

  const circuit = await post("landscapeCircuit", { dataset: { name: "cs231n-1d" }, W });
  if (circuit.ok) {
    const again = await post("evaluateCircuit", { expression: circuit.data.expression, inputs: circuit.data.inputs });
    if (again.ok && !("strings" in again.data)) seen.push(`${again.data.gradients?.["W0_0"]}`);
  }
  return seen;
}

export async function lessons(): Promise<string[]> {
  const seen: string[] = [];
  const list = await get("listLessons");
  if (!list.ok) return [describe(list.error)];
  for (const row of list.data.lessons) seen.push(`${row.order} ${row.id} (${row.origin}): ${row.steps} steps`);

  const lesson = await get("getLesson", { lesson_id: "intuitions-simple" });
  if (lesson.ok) {
    for (const step of lesson.data.steps) {
      const asked = step.questions.map((q) => `${q.id} ${q.kind} ${q.options?.length ?? 0} ${q.goal ?? ""}`);
      seen.push(`${step.title} [${step.view.page} ${step.view.link}] ${step.html.length}: ${asked.join("; ")}`);
    }
  }
  // a number answer, then a task checked from the live view's link
  const checked = await post("checkLessonAnswer", { step: 0, question: "dfdx", answer: -3 }, { lesson_id: "intuitions-simple" });
  if (checked.ok) {
    const expected: number | null = checked.data.expected;
    seen.push(`${checked.data.correct} ${expected}: ${checked.data.explain}`);
  }
  const task = await post(
    "checkLessonAnswer",
    { step: 4, question: "go-up", answer: null, link: "/#e=(x%2By)*z&in=%7B%22x%22%3A-3%2C%22y%22%3A5%2C%22z%22%3A-4%7D" },
    { lesson_id: "intuitions-simple" },
  );
  if (task.ok) seen.push(`from ${task.data.start} to ${task.data.output}: ${task.data.correct}`);
  else seen.push(describe(task.error));
  return seen;
}

/** A live class's action: the teacher's token, or the student's, as a bearer token. */
function authed<K extends OperationId>(_id: K, token: string, body?: Body<K>): RequestInit {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body === undefined) return { method: "POST", headers };
  headers["Content-Type"] = "application/json";
  return { method: "POST", headers, body: JSON.stringify(body) };
}

export async function classes(): Promise<string[]> {
  const seen: string[] = [];
  const started = await post("startClass", { capacity: 30, show_names: false });
  if (!started.ok) return [describe(started.error)];
  const { class_id, code, teacher_token } = started.data;
  const ids = { class_id };
  const joined = await post("joinClass", { code, name: "Ada" });
  if (!joined.ok) return [describe(joined.error)];
  const question = { id: "q1", kind: "choice" as const, prompt: "What does x receive?", options: ["-4", "3"], answer: 0 };
  const pushed = await send("pushView", authed("pushView", teacher_token, { link: "/#e=x*y", question }), ids);
  if (pushed.ok) seen.push(`${pushed.data.event} ${pushed.data.view.link} ${pushed.data.view.question?.options?.length}`);
  const mine = { question: "q1", answer: 0 };
  const answered = await send("answerQuestion", authed("answerQuestion", joined.data.student_token, mine), ids);
  if (answered.ok) seen.push(`answered ${answered.data.question} at ${answered.data.event}`);
  else seen.push(describe(answered.error));
  const names = await send("showNames", authed("showNames", teacher_token, { show: true }), ids);
  if (names.ok) seen.push(`names at ${names.data.event}`);
  const revealed = await send("revealAnswer", authed("revealAnswer", teacher_token, { rule: "multiply swaps" }), ids);
  if (revealed.ok) seen.push(`${revealed.data.answer}: ${revealed.data.rule}`);
  // text/event-stream and text/csv: a real client reads these as text, not JSON
  const headers = { Authorization: `Bearer ${teacher_token}` };
  const events = await send("classEvents", { method: "GET", headers }, ids);
  if (!events.ok) seen.push(describe(events.error));
  const csv = await send("classAnswers", { method: "GET", headers }, ids);
  if (!csv.ok) seen.push(describe(csv.error));
  const ended = await send("endClass", authed("endClass", teacher_token), ids);
  if (ended.ok) seen.push(`ended ${ended.data.ended}`);
  return seen;
}

// The document is as strict as the server: each of these must fail to compile.
// @ts-expect-error a fixed dataset has no `n`
export const fixedWithN: Body<"landscapeLoss"> = { dataset: { name: "cs231n-1d", n: 5 } };
// @ts-expect-error a 1-D slice takes `direction`, not `directions`
export const oneWithTwo: Body<"landscapeSlice"> = { dims: 1, dataset: { name: "toy-2d" }, directions: ["random", "random"] };
// @ts-expect-error a 2-D slice takes `directions`, not `direction`
export const twoWithOne: Body<"landscapeSlice"> = { dims: 2, dataset: { name: "toy-2d" }, direction: "random" };
// @ts-expect-error the tie break is split or first
export const badTie: Body<"evaluateCircuit"> = { expression: "max(x, y)", tie_break: "random" };
// @ts-expect-error a check names its step by a number
export const stepAsText: Body<"checkLessonAnswer"> = { step: "1", question: "dfdx" };
// @ts-expect-error a question is a choice, a number or a text
export const essay: Body<"pushView"> = { link: "/", question: { id: "q", kind: "essay", prompt: "Why?" } };
