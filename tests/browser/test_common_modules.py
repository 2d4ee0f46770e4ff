"""The shared front-end core (static/js/common/): URL table, store, clock, API client, exporter, run in Chromium."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page

from tests.browser.test_circuit_page import wait_evaluated

pytestmark = pytest.mark.browser

C = "/static/js/"
MODULES = {
    "urlstate": "common/urlstate.js",
    "store": "common/store.js",
    "clock": "common/clock.js",
    "api": "common/api.js",
    "exporter": "common/export.js",
    "links": "common/links.js",
    "circuit": "circuit/state.js",
    "landscape": "landscape/state.js",
}

# Doubles whose shortest decimal text is long or unusual: a link must bring each back bit for bit.
HARD = {
    "sum": 0.1 + 0.2,  # 0.30000000000000004, not 0.3
    "third": 1 / 3,
    "tiny": 2.0**-1074,  # the smallest subnormal
    "huge": math.pi * 1e300,
    "negzero": -0.0,  # String(-0) is "0" in JavaScript
    "typed": -123.456789012345678,
}


def run(page: Page, body: str, arg: Any = None) -> Any:
    """Runs `body` (an async function of (modules, arg)) with the modules imported by short name."""
    imports = ", ".join(f'{name}: await import("{C}{path}")' for name, path in MODULES.items())
    return page.evaluate(
        f"async (arg) => {{ const m = {{ {imports} }}; return await ({body})(m, arg); }}", arg
    )


@pytest.fixture
def ready(page: Page) -> Page:
    page.goto("/")
    wait_evaluated(page)
    return page


def same_bits(a: float, b: float) -> bool:
    a, b = float(a), float(b)  # Playwright hands back whole numbers as int
    return a.hex() == b.hex() and math.copysign(1, a) == math.copysign(1, b)


def test_circuit_table_round_trips_every_number_bit_for_bit(ready: Page) -> None:
    for name, value in HARD.items():
        state = {"outputGrad": value, "inputs": {"x": value, "W": [[value, 1.5]]}, "speed": 2}
        back = run(
            ready,
            """(m, s) => {
              const hash = m.circuit.writeState({ ...m.circuit.defaultState(), ...s });
              return { hash, state: m.circuit.readState(hash) };
            }""",
            state,
        )
        got = back["state"]
        assert same_bits(got["outputGrad"], value), name
        # inputs travel as JSON, which has no -0 (0 reads back as 0.0): every other bit survives
        want_x = 0.0 if value == 0 else value
        assert same_bits(got["inputs"]["x"], want_x) and same_bits(
            got["inputs"]["W"][0][0], want_x
        ), name
        assert got["speed"] == 2 and got["step"] is None and got["expression"] == ""
        params = parse_qs(back["hash"][1:])
        assert params["g"] == ["-0" if name == "negzero" else repr(value)]


def test_landscape_table_round_trips_every_number_bit_for_bit(ready: Page) -> None:
    values = list(HARD.values())
    state = {
        "W": [values[:3], values[3:]],
        "reg": HARD["tiny"],
        "lr": HARD["sum"],
        "ca": -0.0,
        "cb": HARD["typed"],
    }
    back = run(
        ready,
        """(m, s) => {
          const query = m.landscape.writeQuery({ ...m.landscape.defaults(), ...s });
          return { query, state: m.landscape.readQuery(query) };
        }""",
        state,
    )
    got = back["state"]
    for row_got, row_want in zip(got["W"], state["W"], strict=True):
        assert all(same_bits(a, b) for a, b in zip(row_got, row_want, strict=True))
    for key in ("reg", "lr", "ca", "cb"):
        assert same_bits(got[key], state[key]), key
    params = parse_qs(back["query"][1:])
    assert (
        params["lr"] == ["0.30000000000000004"]
        and params["ca"] == ["-0"]
        and params["reg"] == ["5e-324"]
    )


def test_one_vocabulary_reads_kinds_and_falls_back_to_defaults(ready: Page) -> None:
    got = run(
        ready,
        """(m) => {
          const table = [
            { name: "n", kind: "int", def: 3 },
            { name: "x", key: "ex", kind: "num", def: 1, ok: (v) => v > 0 },
            { name: "on", kind: "bool", def: false },
            { name: "pick", kind: "enum", values: ["a", "b"], def: "a" },
            { name: "obj", kind: "json", def: {} },
            { name: "M", kind: "matrix", def: null },
          ];
          return {
            good: m.urlstate.readParams(table, "?n=7&ex=2.5&on=1&pick=b&obj=%7B%22k%22%3A1%7D&M=1,2;3,4"),
            bad: m.urlstate.readParams(table, "#n=x&ex=-1&on=no&pick=c&obj=%7Bbroken&M=1,2;3"),
            empty: m.urlstate.readParams(table, "ex="),
            written: m.urlstate.writeParams(table, { n: 3, x: 2, on: false, pick: "b", obj: {}, M: null }),
            twoDefaults: [m.urlstate.defaults(table).obj !== m.urlstate.defaults(table).obj],
          };
        }""",
    )
    assert got["good"] == {
        "n": 7,
        "x": 2.5,
        "on": True,
        "pick": "b",
        "obj": {"k": 1},
        "M": [[1, 2], [3, 4]],
    }
    assert got["bad"] == {"n": 3, "x": 1, "on": False, "pick": "a", "obj": {}, "M": None}
    assert got["empty"]["x"] == 1  # an empty number is not 0
    assert got["written"] == "ex=2&pick=b"  # defaults are left out, the URL key is used
    assert got["twoDefaults"] == [True]  # each default state has its own objects


def test_a_link_into_the_circuit_page_uses_its_own_table(ready: Page) -> None:
    got = run(
        ready,
        """(m) => {
          const link = m.links.circuitLink({ expression: "x * y", inputs: { x: 0.1, y: -2 } });
          return { link, read: m.circuit.readState(link.slice(1)) };
        }""",
    )
    assert got["link"].startswith("/#")
    assert parse_qs(got["link"][2:]) == {"e": ["x * y"], "in": ['{"x":0.1,"y":-2}']}
    assert got["read"]["expression"] == "x * y" and got["read"]["inputs"] == {"x": 0.1, "y": -2}


def test_store_setting_state_is_the_only_path_to_a_redraw(ready: Page) -> None:
    got = run(
        ready,
        """(m) => {
          // a stand-in window: the store reads and writes its location and history, nothing else
          const handlers = {};
          const urls = [];
          const win = {
            location: { pathname: "/p", search: "", hash: "#e=x&g=2" },
            history: {
              replaceState: (_, __, url) => urls.push(["replace", url]),
              pushState: (_, __, url) => urls.push(["push", url]),
            },
            addEventListener: (type, fn) => { handlers[type] = fn; },
          };
          const store = m.store.createStore(m.circuit.PROPERTIES, { place: "hash", win });
          const seen = [];
          store.subscribe((state, changed) => seen.push([state.outputGrad, [...changed].sort()]));
          const first = store.get().outputGrad;
          store.set({ outputGrad: 3 });
          store.set({ outputGrad: 3 });  // no change: no redraw
          store.set({ tieBreak: "first" }, { push: true });
          let unknown = null;
          try { store.set({ nope: 1 }); } catch (e) { unknown = e.message; }
          win.location.hash = "#e=y";
          handlers.hashchange();
          return { first, seen, urls, unknown, after: store.get().expression, events: Object.keys(handlers) };
        }""",
    )
    assert got["first"] == 2
    assert got["seen"][0] == [3, ["outputGrad"]]
    assert got["seen"][1] == [3, ["tieBreak"]]
    assert len(got["seen"]) == 3 and got["seen"][2][0] == 1  # the hash change: back to the default
    # ...and every property is told it may have changed (static/js/circuit/state.js has 11)
    assert len(got["seen"][2][1]) == 11
    assert got["urls"] == [["replace", "/p#e=x&g=3"], ["push", "/p#e=x&g=3&tie=first"]]
    assert got["unknown"] == "unknown state property nope"
    assert got["after"] == "y" and got["events"] == ["hashchange"]


def test_a_framed_page_keeps_embed_in_its_links_and_adds_no_history(ready: Page) -> None:
    """A lesson's live view is the page in a frame with ?embed=1: its moves replace the address
    (a click in the view must not take one of the lesson's Back presses), and the query store
    keeps embed=1, which is not in its table, in every address it writes."""
    got = run(
        ready,
        """(m) => {
          const stand_in = (framed) => {
            const urls = [];
            const win = {
              location: { pathname: "/landscape", search: "?embed=1&view=2d", hash: "" },
              history: {
                replaceState: (_, __, url) => urls.push(["replace", url]),
                pushState: (_, __, url) => urls.push(["push", url]),
              },
              addEventListener: () => {},
            };
            win.self = win;
            win.top = framed ? {} : win;
            const store = m.store.createStore(m.landscape.FIELDS, { place: "query", win });
            store.set({ reg: 0.5 }, { push: true });
            store.set({ reg: 0.25 });
            return urls;
          };
          return { framed: stand_in(true), top: stand_in(false) };
        }""",
    )
    assert got["framed"] == [
        ["replace", "/landscape?embed=1&view=2d&reg=0.5"],
        ["replace", "/landscape?embed=1&view=2d&reg=0.25"],
    ]
    # the page on its own keeps its history entry per deliberate move
    assert got["top"] == [
        ["push", "/landscape?embed=1&view=2d&reg=0.5"],
        ["replace", "/landscape?embed=1&view=2d&reg=0.25"],
    ]


def test_a_continuous_change_writes_the_link_once_in_a_while_and_at_its_end(ready: Page) -> None:
    """A slider drag sets the store once a frame; each history.replaceState costs a few ms, so
    a step of a drag (`later`) writes the URL within 250 ms, and the drag's end at once."""
    got = run(
        ready,
        """async (m) => {
          const urls = [];
          const win = {
            location: { pathname: "/p", search: "", hash: "#e=x" },
            history: {
              replaceState: (_, __, url) => { urls.push(url); win.location.hash = url.slice(2); },
              pushState: () => {},
            },
            addEventListener: () => {},
          };
          const store = m.store.createStore(m.circuit.PROPERTIES, { place: "hash", win });
          const seen = [];
          store.subscribe((state) => seen.push(state.outputGrad));
          for (let g = 2; g <= 60; g += 1) store.set({ outputGrad: g }, { later: true });
          const duringDrag = [...urls];
          await new Promise((r) => setTimeout(r, 400));
          const afterPause = [...urls];
          for (let g = 61; g <= 70; g += 1) store.set({ outputGrad: g }, { later: true });
          store.set({ outputGrad: 70 });  // the release: the same value, settled
          const atRelease = [...urls];
          await new Promise((r) => setTimeout(r, 400));
          return { duringDrag, afterPause, atRelease, final: [...urls], seen: seen.length, last: seen.at(-1) };
        }""",
    )
    assert got["seen"] == 69 and got["last"] == 70  # every step still reached the page
    assert got["duringDrag"] == []  # none of 59 steps wrote the link at once
    assert got["afterPause"] == ["/p#e=x&g=60"]  # one write, with the latest value
    assert got["atRelease"] == ["/p#e=x&g=60", "/p#e=x&g=70"]  # the release writes at once
    assert got["final"] == got["atRelease"]  # and the pending timer has nothing left to write


def test_data_state_inputs_mirror_the_store(ready: Page) -> None:
    got = run(
        ready,
        """(m) => {
          const form = document.createElement("form");
          form.innerHTML = '<input data-state="outputGrad" type="text"><input data-state="gradcheck" type="checkbox">';
          const win = {
            location: { pathname: "/", search: "", hash: "" },
            history: { replaceState() {}, pushState() {} },
            addEventListener() {},
          };
          const store = m.store.createStore(m.circuit.PROPERTIES, { place: "hash", win });
          const inputs = [...form.querySelectorAll("[data-state]")];
          const sync = m.store.bindInputs(inputs, store, {
            parse: { outputGrad: (t) => (Number.isFinite(Number(t)) ? Number(t) : null) },
          });
          store.subscribe(sync);
          const [grad, check] = inputs;
          grad.value = "2.5"; grad.dispatchEvent(new Event("input"));
          const typed = store.get().outputGrad;
          grad.value = "2.5x"; grad.dispatchEvent(new Event("input"));  // half-typed: ignored
          check.checked = true; check.dispatchEvent(new Event("change"));
          store.set({ outputGrad: -4, gradcheck: false });
          return { typed, ignored: store.get().outputGrad, field: grad.value, box: check.checked };
        }""",
    )
    assert got == {"typed": 2.5, "ignored": -4, "field": "-4", "box": False}


def test_clock_runs_every_timer_on_one_frame_and_can_be_flushed_and_cancelled(ready: Page) -> None:
    got = run(
        ready,
        """(m) => {
          const queue = [];
          let cancelled = 0;
          const clock = new m.clock.Clock({
            raf: (cb) => { queue.push(cb); return queue.length; },
            caf: () => { cancelled += 1; queue.splice(0); },
            now: () => 0,
          });
          const a = [], b = [];
          const ta = clock.every((t) => { a.push(t); return t < 20; });
          const tb = clock.every((t) => { b.push(t); });
          const requested = queue.length;  // two timers, one frame request
          queue.shift()(10);
          queue.shift()(20);  // a stops itself here
          clock.flush(25);  // what a test does instead of waiting for a frame
          const pending = queue.length;
          tb.cancel();  // the last timer: the frame request goes too
          ta.cancel();  // already stopped: nothing happens
          return { requested, a, b, pending, cancelled, left: queue.length, timers: clock.timers.size };
        }""",
    )
    assert got == {
        "requested": 1,
        "a": [10, 20],
        "b": [10, 20, 25],
        "pending": 1,
        "cancelled": 1,
        "left": 0,
        "timers": 0,
    }


def test_api_client_aborts_the_stale_request_and_names_where_a_problem_is(ready: Page) -> None:
    got = run(
        ready,
        """async (m) => {
          const sent = [];
          const fetchImpl = (url, init = {}) => new Promise((resolve, reject) => {
            sent.push(url);
            init.signal?.addEventListener("abort", () => reject(new DOMException("stale", "AbortError")));
            const k = init.body ? JSON.parse(init.body).k : 0;
            if (k === 2) resolve(new Response(JSON.stringify({ ok: 2 })));
            if (k === 3) resolve(new Response(JSON.stringify({ detail: [{ msg: "bad x", loc: ["body", "x"] }] }), { status: 422 }));
            if (k === 0) resolve(new Response("not json", { status: 500 }));
          });
          const busy = [];
          const client = m.api.createClient({ base: "/b", onBusy: (n) => busy.push(n), fetchImpl });
          const first = client.post("c", "/p", { k: 1 }).catch((e) => (m.api.isAbort(e) ? "aborted" : String(e)));
          const other = client.post("d", "/p", { k: 3 }).catch((e) => [e.status, e.message, e.detail, m.api.isAbort(e)]);
          const second = await client.post("c", "/p", { k: 2 });
          const broken = await client.get("/g").catch((e) => [e.status, e.message]);
          return { first: await first, second, other: await other, broken, sent, busy };
        }""",
    )
    assert got["first"] == "aborted" and got["second"] == {"ok": 2}
    assert got["other"] == [
        422,
        "bad x (at body.x)",
        [{"msg": "bad x", "loc": ["body", "x"]}],
        False,
    ]
    assert got["broken"] == [500, "request failed with status 500"]
    assert got["sent"] == ["/b/p", "/b/p", "/b/p", "/b/g"]
    assert got["busy"][-1] == 0 and max(got["busy"]) == 2  # two channels were in flight at once


def test_api_client_never_hands_back_null_for_an_answer(ready: Page) -> None:
    # CI once failed on "Cannot read properties of null (reading 'format')": the page left while an
    # answer's body was being read, the read's AbortError was swallowed and null came back as the
    # answer. An aborted read is an abort; a 2xx body that is not JSON is an error.
    got = run(
        ready,
        """async (m) => {
          // the real fetch: its answer's headers are in when the request is aborted, its body unread
          let client;
          const fetchImpl = async (url, init) => {
            if (url.endsWith("/text")) return new Response("<html>proxy page</html>");
            const response = await window.fetch(url, init);
            client.abortAll();
            return response;
          };
          client = m.api.createClient({ fetchImpl });
          const stalled = await client.post("c", "/circuits/evaluate", { expression: "x * y", inputs: { x: 2, y: 3 } }).then(
            (a) => ["answered", a],
            (e) => ["rejected", m.api.isAbort(e), e.name],
          );
          const text = await client.post("d", "/text", {}).then(
            (a) => ["answered", a],
            (e) => ["rejected", e instanceof m.api.ApiError, e.status, e.message],
          );
          return { stalled, text };
        }""",
    )
    assert got["stalled"] == ["rejected", True, "AbortError"]
    assert got["text"] == ["rejected", True, 200, "the answer (status 200) is not JSON"]


def test_exporter_makes_a_standalone_svg_and_csv(ready: Page) -> None:
    got = run(
        ready,
        """(m) => {
          const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
          svg.setAttribute("viewBox", "0 0 120.5 80");
          svg.setAttribute("class", "plot");
          svg.innerHTML = '<g class="viewport" transform="scale(3)"><circle r="4" class="hover"/><rect width="5" height="5"/></g>';
          const { source, width, height } = m.exporter.standaloneSvg(svg, {
            css: ".x { fill: red; }",
            background: "#ffffff",
            prepare: (copy) => copy.querySelector(".hover").remove(),
          });
          // read back in an inert <template>: a parsed document would apply the <style>, which CSP forbids
          const inert = document.createElement("template");
          inert.innerHTML = source;
          const doc = inert.content.firstElementChild;
          return {
            width, height,
            attrs: [doc.getAttribute("viewBox"), doc.getAttribute("width"), doc.getAttribute("class")],
            children: [...doc.children].map((el) => el.tagName),
            style: doc.querySelector("style").textContent,
            hover: doc.querySelectorAll(".hover").length,
            onPage: svg.querySelectorAll(".hover").length,
            csv: m.exporter.csvText([["a", "b"], ['x,"y"', 1.5]]),
          };
        }""",
    )
    assert got["width"] == 121 and got["height"] == 80  # whole pixels, rounded up
    assert got["attrs"] == ["0 0 121 80", "121", None]
    assert got["children"] == ["style", "rect", "g"]  # the style first, then the background
    assert got["style"] == ".x { fill: red; }"
    assert got["hover"] == 0 and got["onPage"] == 1  # the copy is changed, the page is not
    assert got["csv"] == 'a,b\n"x,""y""",1.5\n'


def test_api_client_waits_out_a_short_429_and_sends_again(ready: Page) -> None:
    got = run(
        ready,
        """async (m) => {
          const answers = {
            short: [[429, "2"], [429, "1"], [200, null]],
            long: [[429, "30"], [200, null]],
            bare: [[429, null], [200, null]],
            stubborn: [[429, "1"], [429, "1"], [429, "1"], [429, "1"], [200, null]],
          };
          const sent = [];
          const fetchImpl = (url, init) => {
            const k = JSON.parse(init.body).k;
            sent.push(k);
            const [status, after] = answers[k].shift();
            const headers = after === null ? {} : { "Retry-After": after };
            const body = status === 200 ? { ok: k } : { detail: [{ msg: `share used: ${k}`, loc: [] }] };
            return Promise.resolve(new Response(JSON.stringify(body), { status, headers }));
          };
          const slept = [];
          const waits = [];
          const sleepImpl = (s) => { slept.push(s); return Promise.resolve(); };
          const client = m.api.createClient({ fetchImpl, sleepImpl, onWait: (c, s) => waits.push([c, s]) });
          const fail = (e) => [e.status, e.message];
          const short = await client.post("a", "/p", { k: "short" });
          const long = await client.post("b", "/p", { k: "long" }).catch(fail);
          const bare = await client.post("c", "/p", { k: "bare" }).catch(fail);
          const stubborn = await client.post("d", "/p", { k: "stubborn" }).catch(fail);
          // a newer request on the channel ends a wait: the real pause, aborted
          const real = m.api.createClient({
            fetchImpl: () => Promise.resolve(new Response("{}", { status: 429, headers: { "Retry-After": "3" } })),
          });
          const waiting = real.post("e", "/p", { k: 0 }).catch((e) => (m.api.isAbort(e) ? "aborted" : String(e)));
          await new Promise((r) => setTimeout(r, 0));
          real.abortAll();
          return { short, long, bare, stubborn, sent, slept, waits, superseded: await waiting };
        }""",
    )
    assert got["short"] == {"ok": "short"}  # waited 2 s, then 1 s, then served
    assert got["long"] == [429, "share used: long"]  # 30 s is past maxWaitS (5): said at once
    assert got["bare"] == [429, "share used: bare"]  # no Retry-After: nothing to wait for
    assert got["stubborn"] == [429, "share used: stubborn"]  # three retries, then the error
    assert got["sent"] == ["short"] * 3 + ["long", "bare"] + ["stubborn"] * 4
    assert got["slept"] == [2, 1, 1, 1, 1]
    assert got["waits"] == [["a", 2], ["a", 1], ["d", 1], ["d", 1], ["d", 1]]
    assert got["superseded"] == "aborted"
