// `tito doctor` (student command): checks, in order, everything a workspace needs, and gives
// each problem one line with its fix: node's version, the installed dependencies, Jupyter, the
// registered kernelspec, a kernel started through that kernelspec running a cell, and the
// compiled package.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { KIT_ROOT, runCommand, coursePath } from "@tinytorch-ts/core";
import { KernelClient } from "@tinytorch-ts/core/kernel";
import {
  findJupyterPython,
  jupyterInstallHint,
  kernelSpecTslab,
  readKernelSpec,
  workspaceTslab,
} from "../student/jupyter";
import { spec } from "./doctor.args";

const MIN_NODE_MAJOR = 20;

interface Check {
  ok: boolean;
  line: string;
  /** Worth knowing, not a problem to fix. */
  note?: boolean;
}

const pass = (line: string): Check => ({ ok: true, line });
const fail = (line: string): Check => ({ ok: false, line });
const note = (line: string): Check => ({ ok: true, line, note: true });

async function kernelRuns(argv: string[]): Promise<Check> {
  let kernel: KernelClient | undefined;
  try {
    kernel = await KernelClient.start({
      cwd: coursePath(KIT_ROOT, "notebooks"),
      kernelSpecArgv: argv,
    });
    const run = await kernel.execute('console.log("doctor-" + (40 + 2))', { timeoutMs: 30_000 });
    const text = run.outputs.map((o) => JSON.stringify(o)).join("");
    if (run.status === "ok" && text.includes("doctor-42")) {
      return pass(`a kernel started in ${(kernel.startupMs / 1000).toFixed(1)} s and ran a cell`);
    }
    return fail(`the kernel did not run a cell (${run.reason ?? run.status}): run npm ci again`);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    return fail(`the kernel does not start (${why}): run npm ci, then npm run setup`);
  } finally {
    await kernel?.shutdown();
  }
}

async function checks(): Promise<Check[]> {
  const out: Check[] = [];
  const major = Number(process.versions.node.split(".")[0]);
  out.push(
    major >= MIN_NODE_MAJOR
      ? pass(`node ${process.versions.node}`)
      : fail(
          `node ${process.versions.node} is too old: install Node.js ${MIN_NODE_MAJOR} or later`,
        ),
  );
  const tslab = workspaceTslab(KIT_ROOT);
  if (!existsSync(tslab)) {
    out.push(fail("the dependencies are not installed: run npm ci"));
    return out;
  }
  out.push(pass("dependencies installed"));
  const python = findJupyterPython();
  if (!python) {
    out.push(fail(`Jupyter is not installed: ${jupyterInstallHint()}`));
    return out;
  }
  out.push(pass(`Jupyter found (${python})`));
  // Jupyter Notebook refuses to start as root without --allow-root (containers, CI images).
  if (process.getuid?.() === 0) {
    out.push(
      note(
        "you are root: Jupyter Notebook starts as root only with --allow-root; `npm run notebook` adds it for you (run `jupyter notebook` yourself with --allow-root)",
      ),
    );
  }
  const spec = readKernelSpec(python);
  const specTslab = spec && kernelSpecTslab(spec);
  if (!spec || !specTslab) {
    const why = spec
      ? `it starts '${spec.argv[0]}', not a tslab that exists`
      : "it is not registered";
    out.push(fail(`the TypeScript kernel: ${why}: run npm run setup`));
    return out;
  }
  out.push(pass(`kernelspec ${spec.resourceDir} starts ${specTslab}`));
  out.push(await kernelRuns(spec.argv));
  const inWorkspace = existsSync(join(KIT_ROOT, ".tito", "course.json"));
  if (inWorkspace) {
    out.push(
      existsSync(join(KIT_ROOT, "tinytorch-ts", "dist", "index.js"))
        ? pass("your tinytorch-ts package is built")
        : fail("your tinytorch-ts package is not built: run npx tito export 01"),
    );
  }
  return out;
}

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, doctor);
}

async function doctor(): Promise<number> {
  const results = await checks();
  for (const c of results) {
    console.log(`${c.note ? "note   " : c.ok ? "ok     " : "PROBLEM"}  ${c.line}`);
  }
  const problems = results.filter((c) => !c.ok).length;
  console.log(problems === 0 ? "Everything is ready." : `${problems} problem(s) to fix.`);
  return problems === 0 ? 0 : 1;
}
