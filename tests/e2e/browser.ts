// The real-Jupyter check (`npm run test:e2e`): Debian's Jupyter Notebook 6 serves
// tests/e2e/browser-check.ipynb with the tslab kernel; headless Chromium, driven by
// playwright-core, opens it, runs all cells from the menu, waits for the kernel to go idle, and
// checks the outputs in the page, including the SVG of a chart drawn by
// tinytorch-ts/support/chart. It saves a screenshot in tests/artifacts/ and prints PASS or FAIL.
//
// Everything is bounded: each step has a deadline and a watchdog ends the whole check. The
// server, its kernels and the browser are stopped however the check ends.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { KIT_ROOT as ROOT } from "@tinytorch-ts/core";

const ARTIFACTS = join(ROOT, "tests", "artifacts");
const SCREENSHOT = join(ARTIFACTS, "e2e-notebook.png");
const JUPYTER = "/usr/bin/jupyter-notebook";
const PYTHON = "/usr/bin/python3";
const CHROMIUM = "/usr/bin/chromium";
const WATCHDOG_MS = 5 * 60_000;

/** The parts of the Notebook page's globals the check reads (tsconfig has no DOM types). */
interface InPage {
  Jupyter?: {
    notebook?: {
      kernel?: { is_connected(): boolean };
      kernel_busy: boolean;
      get_cells(): Array<{ cell_type: string; input_prompt_number: unknown }>;
    };
  };
  document: { querySelector(selector: string): unknown };
}

const cleanups: Array<() => Promise<void> | void> = [];
const log = (msg: string) => console.log(`e2e: ${msg}`);

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000, ...opts });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed:\n${r.stdout ?? ""}${r.stderr ?? ""}${r.error ?? ""}`,
    );
  }
  return r.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function waitFor<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out after ${ms / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ""}`,
  );
}

/** The compiled package must exist: tslab loads tinytorch-ts from dist/. */
function ensurePackageBuilt(): void {
  if (existsSync(join(ROOT, "tinytorch-ts", "dist", "support", "chart.js"))) return;
  log("tinytorch-ts/dist is missing: npm run build:package");
  sh("npm", ["run", "build:package"], { cwd: ROOT });
}

/** Registers tslab in a private Jupyter data dir, so the check does not depend on the machine. */
function registerKernel(prefix: string): void {
  sh(
    process.execPath,
    [
      join(ROOT, "node_modules", "tslab", "bin", "tslab"),
      "install",
      `--python=${PYTHON}`,
      `--binary=${join(ROOT, "node_modules", ".bin", "tslab")}`,
      `--prefix=${prefix}`,
    ],
    { cwd: ROOT },
  );
}

async function startJupyter(notebookDir: string, jupyterHome: string, token: string) {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: jupyterHome,
    LANG: "C.UTF-8",
    JUPYTER_PATH: join(jupyterHome, "prefix", "share", "jupyter"),
    JUPYTER_CONFIG_DIR: join(jupyterHome, "config"),
    JUPYTER_DATA_DIR: join(jupyterHome, "data"),
    JUPYTER_RUNTIME_DIR: join(jupyterHome, "runtime"),
  };
  const args = [
    "--no-browser",
    "--ip=127.0.0.1",
    `--port=${port}`,
    "--port-retries=0",
    `--notebook-dir=${notebookDir}`,
    `--NotebookApp.token=${token}`,
    "--NotebookApp.password=",
    "--NotebookApp.disable_check_xsrf=False",
  ];
  if (process.getuid?.() === 0) args.push("--allow-root");
  const server: ChildProcess = spawn(JUPYTER, args, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  server.stdout?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  server.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-8000)));
  cleanups.push(() => stopServer(server, port, token));
  const base = `http://127.0.0.1:${port}`;
  await waitFor("Jupyter Notebook to answer", 60_000, async () => {
    if (server.exitCode !== null) throw new Error(`jupyter-notebook exited:\n${output}`);
    const r = await fetch(`${base}/api/kernelspecs?token=${token}`);
    if (!r.ok) return undefined;
    const specs = (await r.json()) as { kernelspecs: Record<string, unknown> };
    if (!specs.kernelspecs.tslab) throw new Error("the tslab kernel is not registered");
    return true;
  });
  return base;
}

async function stopServer(server: ChildProcess, port: number, token: string): Promise<void> {
  if (server.exitCode !== null || server.pid === undefined) return;
  const base = `http://127.0.0.1:${port}`;
  // Kernels run in their own sessions: ask the server to shut them down before stopping it.
  try {
    const kernels = (await (await fetch(`${base}/api/kernels?token=${token}`)).json()) as Array<{
      id: string;
    }>;
    for (const k of kernels) {
      await fetch(`${base}/api/kernels/${k.id}?token=${token}`, { method: "DELETE" });
    }
  } catch {
    // The server may already be gone.
  }
  const exited = new Promise((r) => server.once("exit", r));
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-server.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

async function runAllAndWait(page: Page): Promise<void> {
  await waitFor("the kernel to be ready", 60_000, () =>
    page.evaluate(() => {
      const nb = (globalThis as unknown as InPage).Jupyter?.notebook;
      return nb?.kernel?.is_connected() && nb.kernel_busy === false ? true : undefined;
    }),
  );
  // Run All through the menu, as a student would.
  await page.click("#celllink");
  await page.click("#run_all_cells > a");
  await waitFor("all cells to run and the kernel to go idle", 120_000, () =>
    page.evaluate(() => {
      const page = globalThis as unknown as InPage;
      const nb = page.Jupyter?.notebook;
      if (!nb) return undefined;
      const cells = nb.get_cells().filter((c) => c.cell_type === "code");
      const done = cells.every(
        (c) => typeof c.input_prompt_number === "number" || c.input_prompt_number === null,
      );
      const idle = page.document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null;
      const started = cells.some((c) => typeof c.input_prompt_number === "number");
      return done && idle && started ? true : undefined;
    }),
  );
}

async function check(page: Page): Promise<string[]> {
  const problems: string[] = [];
  const outputs = await page.$$eval(".output_area", (els) => els.map((e) => e.textContent ?? ""));
  const all = outputs.join("\n");
  for (const expected of [
    "HELLO FROM TSLAB",
    "counter=42",
    "chart shown",
    "expected failure at the end",
  ]) {
    if (!all.includes(expected)) problems.push(`output '${expected}' is missing from the page`);
  }
  const svgs = await page.$$eval(".output_svg svg", (els) => els.map((e) => e.outerHTML));
  const chart = svgs.find((s) => s.includes("e2e chart"));
  if (!chart) problems.push(`no SVG chart titled 'e2e chart' in the page (${svgs.length} SVGs)`);
  else if (!/<path|<rect/.test(chart)) problems.push("the chart SVG has no marks");
  const box = await page
    .$eval(".output_svg svg", (e) => e.getBoundingClientRect().width)
    .catch(() => 0);
  if (chart && box < 50) problems.push(`the chart SVG is not rendered visibly (width ${box})`);
  return problems;
}

async function main(): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  ensurePackageBuilt();
  // The notebook directory is inside the repository so that the kernel (which starts in the
  // notebook's directory) resolves tinytorch-ts through the repository's node_modules.
  const notebookDir = mkdtempSync(join(ARTIFACTS, "e2e-notebooks-"));
  const jupyterHome = mkdtempSync(join(tmpdir(), "tito-e2e-jupyter-"));
  const profile = mkdtempSync(join(tmpdir(), "tito-e2e-chromium-"));
  cleanups.push(() => {
    for (const d of [notebookDir, jupyterHome, profile])
      rmSync(d, { recursive: true, force: true });
  });
  copyFileSync(join(__dirname, "browser-check.ipynb"), join(notebookDir, "browser-check.ipynb"));
  registerKernel(join(jupyterHome, "prefix"));
  const token = randomBytes(24).toString("hex");
  log("starting Jupyter Notebook");
  const base = await startJupyter(notebookDir, jupyterHome, token);

  log("starting Chromium");
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1200, height: 1600 },
    timeout: 60_000,
  });
  cleanups.unshift(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  await page.goto(`${base}/notebooks/browser-check.ipynb?token=${token}`);
  log("running all cells");
  await runAllAndWait(page);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  log(`screenshot: ${SCREENSHOT}`);
  const problems = await check(page);
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0)) {
    try {
      await fn();
    } catch {
      // Keep cleaning up.
    }
  }
}

const watchdog = setTimeout(() => {
  console.log(`FAIL e2e: the check did not finish within ${WATCHDOG_MS / 1000} s`);
  void cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);

main().then(
  async () => {
    await cleanup();
    clearTimeout(watchdog);
    console.log("PASS e2e: Jupyter Notebook + tslab + Chromium: outputs and SVG chart rendered");
  },
  async (e: unknown) => {
    await cleanup();
    clearTimeout(watchdog);
    console.log(`FAIL e2e: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
