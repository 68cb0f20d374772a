// The what-if page: scenario editor and controls, the simulator in a worker, the report's
// plots redrawn on every change, a result file laid beside the prediction.

import { formatMs } from "../src/core/format.js";
import { runCharts, summaryCharts, categoriesOf } from "../src/report/html/charts.js";
import { downtimeRows, type NamedRun } from "../src/report/html/figures.js";
import { downtimesSpec } from "../src/report/html/specs.js";
import { loadScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/schema.js";
import { applyControl, controls, type Control } from "./controls.js";
import { defaultScenario } from "./default-scenario.js";
import { parseLoaded, type Loaded } from "./loaded.js";
import type { SimulateReply, SimulateRequest } from "./messages.js";
import { drawPlots } from "./plots.js";
import { decodeScenario, encodeScenario } from "./share.js";

/** What the last update took; read by the browser tests and shown in the status line. */
interface UpdateTiming {
  updates: number;
  /** From the change to: results back, the side-by-side plots drawn, every plot drawn. */
  simulateMs: number;
  summaryMs: number;
  totalMs: number;
}
declare global {
  interface Window {
    whatIf: UpdateTiming;
  }
}
window.whatIf = { updates: 0, simulateMs: 0, summaryMs: 0, totalMs: 0 };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const editor = $<HTMLTextAreaElement>("scenario");
const status = $("status");
const warnings = $("warnings");
const plots = $("plots");
const figures = $("figures");

let scenario: Scenario | undefined;
let loaded: Loaded | undefined;
let predicted: NamedRun[] = [];

// One update at a time, each run of the scenario in its own worker (in parallel); while an
// update runs only the newest request waits (controls move faster than a large guest
// simulates).
const workers: Worker[] = [];
const workerFor = (i: number) => (workers[i] ??= new Worker("worker.js"));
let nextId = 1;
let running: { id: number; started: number; replies: Extract<SimulateReply, { ok: true }>[]; expected: number } | undefined;
let waiting: string | undefined;

function requestSimulation(yaml: string) {
  if (running) {
    waiting = yaml;
    return;
  }
  const runs = loadScenario(yaml, "scenario").length;
  running = { id: nextId++, started: performance.now(), replies: [], expected: runs };
  for (let run = 0; run < runs; run++) {
    const worker = workerFor(run);
    worker.onmessage = (event: MessageEvent<SimulateReply>) => void onReply(event.data);
    const request: SimulateRequest = { id: running.id, yaml, run };
    worker.postMessage(request);
  }
}

async function onReply(reply: SimulateReply) {
  if (!running || reply.id !== running.id) return;
  if (!reply.ok) {
    running = undefined;
    showError(reply.error);
    return nextWaiting();
  }
  running.replies.push(reply);
  if (running.replies.length < running.expected) return;
  const { started, replies } = running;
  const simulateMs = performance.now() - started;
  running = undefined;
  if (nextWaiting()) return;
  replies.sort((a, b) => a.run - b.run);
  predicted = replies.map((r) => ({ name: r.variant, result: r.result }));
  let summaryMs = 0;
  await redraw(() => (summaryMs = performance.now() - started));
  const totalMs = performance.now() - started;
  window.whatIf = { updates: window.whatIf.updates + 1, simulateMs, summaryMs, totalMs };
  status.className = "";
  status.textContent =
    `${replies[0].scenario}: simulated in ${simulateMs.toFixed(0)} ms (${replies.length} run(s) in parallel), ` +
    `downtime plots in ${summaryMs.toFixed(0)} ms, all plots in ${totalMs.toFixed(0)} ms`;
}

/** Starts the request that waited, if any; true when there was one. */
function nextWaiting(): boolean {
  if (waiting === undefined) return false;
  const yaml = waiting;
  waiting = undefined;
  requestSimulation(yaml);
  return true;
}

function showError(message: string) {
  status.className = "error";
  status.textContent = message;
}

async function redraw(firstDrawn?: () => void) {
  const all = [...predicted, ...(loaded?.results ?? [])];
  const categories = categoriesOf(all);
  const summary = summaryCharts(all, categories).filter((c) => c.kind !== "downtimes");
  const rows = [...downtimeRows(all), ...(loaded?.downtimes ?? [])];
  const order = [...new Set(rows.map((r) => r.run))];
  const downtimes = { kind: "downtimes" as const, spec: downtimesSpec("The three downtimes", rows, order) };
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
  await drawPlots(plots, [
    { charts: [downtimes, ...summary] },
    ...all.map((run) => ({ heading: `${run.name}: ${run.result.status}`, run: run.name, charts: runCharts(run, categories) })),
  ], firstDrawn);
}

function figuresTable(runs: NamedRun[]): string {
  const esc = (s: string) => s.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = runs.map(({ name, result: r }) =>
    `<tr><td>${esc(name)}</td><td>${esc(r.status)}</td><td>${formatMs(r["total-time"])}</td><td>${formatMs(r.downtime)}</td>` +
    `<td>${formatMs(r["guest-visible-downtime"])}</td><td>${formatMs(r["service-downtime"])}</td><td>${r.ram["dirty-sync-count"]}</td></tr>`,
  );
  return `<table><thead><tr><th>run</th><th>status</th><th>total</th><th>downtime</th><th>guest-visible</th><th>service</th><th>syncs</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The editor's text changed (typed, or a control wrote into it). */
function scenarioChanged(yaml: string) {
  history.replaceState(null, "", "#" + encodeScenario(yaml));
  try {
    scenario = loadScenario(yaml, "scenario")[0].scenario;
    syncControls(scenario);
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
    return;
  }
  requestSimulation(yaml);
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
    input.addEventListener("input", () => {
      if (!scenario) return;
      const yaml = applyControl(editor.value, control, input.value, scenario);
      editor.value = yaml;
      scenarioChanged(yaml);
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
      const output = input.previousElementSibling?.querySelector("output");
      if (output) output.textContent = `${Number(value.toFixed(2))} ${control.unit}`;
    } else {
      const value = control.read(s);
      input.disabled = value === undefined;
      if (value !== undefined) input.value = value;
    }
  }
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
  await redraw();
});

buildControls();
editor.value = decodeScenario(location.hash) ?? defaultScenario;
scenarioChanged(editor.value);
