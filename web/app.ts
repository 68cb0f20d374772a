// The what-if page: scenario editor and controls, the simulator in a worker, the report's
// plots redrawn on every change, a result file laid beside the prediction.

import { formatBytes, formatMs } from "../src/core/format.js";
import { formatDowntime } from "../src/core/result.js";
import { runCharts, runHeading, summaryCharts, categoriesOf } from "../src/report/html/charts.js";
import { downtimeLimits, downtimeRows, type NamedRun } from "../src/report/html/figures.js";
import { downtimesSpec } from "../src/report/html/specs.js";
import { loadScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/schema.js";
import { applyControl, controls, type Control } from "./controls.js";
import { defaultScenario } from "./default-scenario.js";
import { parseLoaded, type Loaded } from "./loaded.js";
import type { SimulateReply, SimulateRequest } from "./messages.js";
import { drawGroup, drawPlots, type PlotGroup } from "./plots.js";
import { decodeScenario, encodeScenario } from "./share.js";

/** What the last update took; read by the browser tests and shown in the status line. */
interface UpdateTiming {
  updates: number;
  /** From the change (a control's input event, or the editor's text taken after a pause in
   * typing) to: every run's result back, the side-by-side plots drawn, every plot drawn into
   * the page, and the next frame after that (painted). */
  simulateMs: number;
  summaryMs: number;
  totalMs: number;
  paintedMs: number;
  /** The slowest worker's own simulation (within simulateMs). */
  workerMs: number;
  /** The plotted scenario, as the URL's hash holds it. */
  scenario: string;
}
declare global {
  interface Window {
    whatIf: UpdateTiming;
  }
}
window.whatIf = { updates: 0, simulateMs: 0, summaryMs: 0, totalMs: 0, paintedMs: 0, workerMs: 0, scenario: "" };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const editor = $<HTMLTextAreaElement>("scenario");
const status = $("status");
const warnings = $("warnings");
const plots = $("plots");
const figures = $("figures");

let scenario: Scenario | undefined;
let loaded: Loaded | undefined;
let predicted: NamedRun[] = [];

// One simulation at a time, each run of the scenario in its own worker (in parallel). While
// one runs, only the newest change waits (controls move faster than a large guest
// simulates): a moved control only shows its value, and is written into the scenario when
// the simulation is done. When a newer change waits, the results that come back are dropped,
// not drawn, and the newer scenario is simulated right away. A simulation cannot be stopped
// half way without losing the workers' warmed-up code, so it runs to its end.
interface Request {
  yaml: string;
  runs: number;
  /** When the change happened (performance.now() time). */
  changed: number;
}
const workers: Worker[] = [];
const workerFor = (i: number) => (workers[i] ??= new Worker("worker.js"));
let nextId = 1;
let running: { id: number; yaml: string; changed: number; replies: Extract<SimulateReply, { ok: true }>[]; expected: number } | undefined;
let waiting: Request | undefined;

function requestSimulation(request: Request) {
  if (running) {
    waiting = request;
    return;
  }
  running = { id: nextId++, yaml: request.yaml, changed: request.changed, replies: [], expected: request.runs };
  for (let run = 0; run < request.runs; run++) {
    const worker = workerFor(run);
    worker.onmessage = (event: MessageEvent<SimulateReply>) => onReply(event.data);
    const message: SimulateRequest = { id: running.id, yaml: request.yaml, run };
    worker.postMessage(message);
  }
}

function onReply(reply: SimulateReply) {
  if (!running || reply.id !== running.id) return;
  if (!reply.ok) {
    running = undefined;
    showError(reply.error);
    nextWaiting();
    return;
  }
  running.replies.push(reply);
  if (running.replies.length < running.expected) {
    // The other runs still simulate: draw this run's own plots meanwhile, if nothing newer
    // waits and the page already has its place (the colours of the last drawing kept; if
    // the final colours differ it is drawn again with the rest).
    const run = { name: reply.variant, result: reply.result };
    if (!waiting && edits.length === 0 && drawnCategories && predicted[reply.run]?.name === run.name) {
      const categories = drawnCategories;
      void drawLatest(() => drawGroup(1 + reply.run, runGroup(run, categories)).then(() => undefined), true);
    }
    return;
  }
  const { yaml, changed, replies } = running;
  const simulateMs = performance.now() - changed;
  running = undefined;
  if (nextWaiting()) return;
  replies.sort((a, b) => a.run - b.run);
  const workerMs = Math.max(...replies.map((r) => r.simulateMs));
  void drawLatest(async () => {
    predicted = replies.map((r) => ({ name: r.variant, result: r.result }));
    let summaryMs = 0;
    await redraw(() => (summaryMs = performance.now() - changed));
    const totalMs = performance.now() - changed;
    status.className = "";
    status.textContent =
      `${replies[0].scenario}: simulated in ${simulateMs.toFixed(0)} ms (${replies.length} run(s) in parallel), ` +
      `downtime plots in ${summaryMs.toFixed(0)} ms, all plots in ${totalMs.toFixed(0)} ms`;
    void nextFrame().then((painted) => {
      window.whatIf = { updates: window.whatIf.updates + 1, simulateMs, summaryMs, totalMs, paintedMs: painted - changed, workerMs, scenario: "#" + encodeScenario(yaml) };
    });
  });
}

/** Resolves just after the browser has produced its next frame, with the time. */
function nextFrame(): Promise<number> {
  return new Promise((resolve) =>
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => resolve(performance.now());
      channel.port2.postMessage(null);
    }),
  );
}

/** Starts the request or control moves that waited, if any; true when there was one. */
function nextWaiting(): boolean {
  if (applyEdits()) return true;
  if (waiting === undefined) return false;
  const request = waiting;
  waiting = undefined;
  requestSimulation(request);
  return true;
}

// One redraw at a time (the plots' Views are shared); of the redraws asked for meanwhile,
// only the last is done, except that one run's plots drawn ahead (`early`) never replace a
// whole redraw. A redraw draws the page's current state, whoever asked for it.
let drawing = false;
let drawNext: { job: () => Promise<void>; early: boolean } | undefined;
async function drawLatest(job: () => Promise<void>, early = false): Promise<void> {
  if (drawing) {
    if (!early || !drawNext || drawNext.early) drawNext = { job, early };
    return;
  }
  drawing = true;
  try {
    await job();
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
  } finally {
    drawing = false;
  }
  const next = drawNext;
  drawNext = undefined;
  if (next) await drawLatest(next.job, next.early);
}

/** The plots of the last valid scenario stay, marked as such, while the editor's text is invalid. */
function markStale(stale: boolean) {
  plots.classList.toggle("stale", stale);
  figures.classList.toggle("stale", stale);
}

function showError(message: string) {
  status.className = "error";
  status.textContent = message;
}

/** The colour order of the last drawing. */
let drawnCategories: string[] | undefined;

/** Each result object gets a number: a run's plots are made from its result and the colours. */
const resultIds = new WeakMap<object, number>();
let nextResultId = 1;
function resultId(result: object): number {
  let id = resultIds.get(result);
  if (id === undefined) resultIds.set(result, (id = nextResultId++));
  return id;
}

function runGroup(run: NamedRun, categories: string[]): PlotGroup {
  return {
    heading: runHeading(run),
    run: run.name,
    charts: runCharts(run, categories),
    token: `${resultId(run.result)}\n${categories.join("\n")}`,
  };
}

async function redraw(firstDrawn?: () => void) {
  const all = [...predicted, ...(loaded?.results ?? [])];
  const categories = categoriesOf(all);
  drawnCategories = categories;
  const summary = summaryCharts(all, categories).filter((c) => c.kind !== "downtimes");
  const rows = [...downtimeRows(all), ...(loaded?.downtimes ?? [])];
  const order = [...new Set(rows.map((r) => r.run))];
  const downtimes = rows.length > 0 ? [{ kind: "downtimes" as const, spec: downtimesSpec("The three downtimes", rows, order, downtimeLimits(all)) }] : [];
  warnings.replaceChildren(
    ...all.flatMap(({ name, result }) =>
      [...(result.status === "failed" ? [`migration FAILED: ${result["error-desc"] ?? "unknown reason"}`] : []), ...result.warnings].map((w) => {
        const p = document.createElement("div");
        p.textContent = `${name}: ${w}`;
        return p;
      }),
    ),
  );
  figures.innerHTML = figuresTable(all);
  markStale(false);
  await drawPlots(plots, [{ charts: [...downtimes, ...summary] }, ...all.map((run) => runGroup(run, categories))], firstDrawn);
}

function figuresTable(runs: NamedRun[]): string {
  const esc = (s: string) => s.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = runs.map(({ name, result: r }) =>
    `<tr><td>${esc(name)}</td><td>${esc(r.status)}</td><td>${formatMs(r["total-time"])}</td><td>${formatDowntime(r)}</td>` +
    `<td>${formatMs(r["guest-visible-downtime"])}</td><td>${formatMs(r["service-downtime"])}</td><td>${r.ram["dirty-sync-count"]}</td></tr>`,
  );
  return `<table><thead><tr><th>run</th><th>status</th><th>total</th><th>downtime</th><th>guest-visible</th><th>service</th><th>syncs</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The scenario text changed at `changed`: a control wrote `yaml` (to go into the editor), or
 * it was typed. The simulation is asked for first; the editor, the URL and the controls
 * follow while it runs. */
function scenarioChanged(yaml: string, changed = performance.now()) {
  let runs: ReturnType<typeof loadScenario>;
  try {
    runs = loadScenario(yaml, "scenario");
  } catch (e) {
    if (editor.value !== yaml) editor.value = yaml;
    history.replaceState(null, "", "#" + encodeScenario(yaml));
    showError(e instanceof Error ? e.message : String(e));
    markStale(true);
    return;
  }
  requestSimulation({ yaml, runs: runs.length, changed });
  if (editor.value !== yaml) editor.value = yaml;
  history.replaceState(null, "", "#" + encodeScenario(yaml));
  scenario = runs[0].scenario;
  syncControls(scenario);
}

/** Control moves not yet written into the scenario (the newest value per control, in the
 * order moved), and when the last was made. */
let edits: { control: Control; value: string }[] = [];
let editsChanged = 0;

function controlMoved(control: Control, value: string, changed: number) {
  if (!scenario) return;
  edits = [...edits.filter((e) => e.control !== control), { control, value }];
  editsChanged = changed;
  if (!running) applyEdits();
}

/** Writes the waiting control moves into the editor's scenario and asks for it; true when
 * there were any. The editor's text, typed changes included, is what they are written into. */
function applyEdits(): boolean {
  if (edits.length === 0 || !scenario) return false;
  let yaml = editor.value;
  let s = scenario;
  for (const { control, value } of edits) {
    yaml = applyControl(yaml, control, value, s);
    try {
      s = loadScenario(yaml, "scenario")[0].scenario;
    } catch {
      // scenarioChanged says what is wrong.
    }
  }
  edits = [];
  waiting = undefined;
  scenarioChanged(yaml, editsChanged);
  return true;
}

const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();

function buildControls() {
  const box = $("controls");
  for (const control of controls) {
    const label = document.createElement("label");
    label.htmlFor = `control-${control.id}`;
    label.textContent = control.label;
    const input = control.kind === "range" ? rangeInput(control) : selectInput(control);
    input.id = `control-${control.id}`;
    input.addEventListener("input", (event) => {
      if (control.kind === "range") showValue(control, input, Number(input.value));
      // Timed from the event itself (performance.now() time), not from this handler.
      controlMoved(control, input.value, event.timeStamp);
    });
    if (control.kind === "range") label.append(document.createElement("output"));
    box.append(label, input);
    inputs.set(control.id, input);
  }
}

function rangeInput(control: Extract<Control, { kind: "range" }>) {
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min: String(control.min), max: String(control.max), step: String(control.step) });
  return input;
}

function selectInput(control: Extract<Control, { kind: "select" }>) {
  const select = document.createElement("select");
  for (const o of control.options) select.append(new Option(o, o));
  return select;
}

function syncControls(s: Scenario) {
  for (const control of controls) {
    const input = inputs.get(control.id);
    if (!input) continue;
    if (control.kind === "range") {
      const value = control.read(s);
      input.value = String(value);
      showValue(control, input, value);
    } else {
      const value = control.read(s);
      input.disabled = value === undefined;
      if (value !== undefined) input.value = value;
    }
  }
}

function showValue(control: Extract<Control, { kind: "range" }>, input: HTMLElement, value: number) {
  const output = input.previousElementSibling?.querySelector("output");
  if (output) output.textContent = control.bytesPerUnit ? formatBytes(value * control.bytesPerUnit, true) : `${Number(value.toFixed(2))} ${control.unit}`;
}

let typing: ReturnType<typeof setTimeout> | undefined;
editor.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => scenarioChanged(editor.value), 250);
});

$("share").addEventListener("click", async () => {
  const url = location.href;
  try {
    await navigator.clipboard.writeText(url);
    status.textContent = "link copied: it holds the whole scenario";
  } catch {
    prompt("the scenario's link", url);
  }
});

$<HTMLInputElement>("load").addEventListener("change", async (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (!file) return;
  const parsed = parseLoaded(file.name, await file.text());
  if (typeof parsed === "string") {
    showError(parsed);
    return;
  }
  loaded = parsed;
  $("loaded").textContent = `laid beside: ${parsed.file} (${parsed.results.length + new Set(parsed.downtimes.map((d) => d.run)).size} run(s))`;
  await drawLatest(() => redraw());
});

buildControls();
editor.value = decodeScenario(location.hash) ?? defaultScenario;
scenarioChanged(editor.value);
