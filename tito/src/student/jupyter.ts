// Jupyter, as a student's machine has it: which Python can register a kernelspec (the first
// `python3` on PATH is often a pyenv or conda one without Jupyter), the tslab kernelspec that
// starts the workspace's own tslab by its absolute path, and the environment Jupyter needs to
// find `node`. Jupyter is used only to register and serve notebooks: tito itself speaks the
// kernel protocol and never runs Python.
import { existsSync, realpathSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { runProcessSync } from "@tinytorch-ts/core";

/** Where Python is usually found, before whatever PATH offers. */
const PREFERRED_PYTHONS = ["/usr/bin/python3"];
const PYTHON_NAMES = ["python3", "python"];
const PROBE_TIMEOUT_MS = 20_000;

/** What `tslab install` needs in Python: jupyter_client (kernelspecs) and IPython (a tempdir). */
const JUPYTER_PROBE = "import jupyter_client, IPython";

export interface KernelSpec {
  /** The kernelspec's directory. */
  resourceDir: string;
  argv: string[];
}

/** Every python candidate, preferred first, each real file once. */
export function pythonCandidates(pathEnv = process.env.PATH ?? ""): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (p: string) => {
    if (!existsSync(p)) return;
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    out.push(p);
  };
  for (const p of PREFERRED_PYTHONS) add(p);
  for (const dir of pathEnv.split(delimiter).filter((d) => d !== "")) {
    for (const name of PYTHON_NAMES) add(join(dir, name));
  }
  return out;
}

function pythonHasJupyter(python: string): boolean {
  return runProcessSync(python, ["-c", JUPYTER_PROBE], { timeoutMs: PROBE_TIMEOUT_MS }).code === 0;
}

/** The first Python that has Jupyter, or undefined. */
export function findJupyterPython(pathEnv?: string): string | undefined {
  return pythonCandidates(pathEnv).find(pythonHasJupyter);
}

/** The exact command that installs Jupyter here. */
export function jupyterInstallHint(): string {
  if (existsSync("/etc/debian_version")) {
    return "sudo apt-get install jupyter-notebook   (Debian/Ubuntu; or: python3 -m pip install --user notebook)";
  }
  return "python3 -m pip install --user notebook";
}

/** The workspace's own tslab launcher (node_modules/.bin/tslab), absolute. */
export function workspaceTslab(workspace: string): string {
  return join(workspace, "node_modules", ".bin", "tslab");
}

/**
 * The environment for Jupyter and the kernels it starts: the workspace's node_modules/.bin and
 * the directory of the running `node` first on PATH (tslab's launcher is `#!/usr/bin/env node`).
 */
export function jupyterEnv(workspace: string, base = process.env): NodeJS.ProcessEnv {
  const path = [join(workspace, "node_modules", ".bin"), dirname(process.execPath), base.PATH]
    .filter((p): p is string => typeof p === "string" && p !== "")
    .join(delimiter);
  return { ...base, PATH: path };
}

export interface RegisterResult {
  ok: boolean;
  output: string;
}

/**
 * Registers the tslab kernelspec for this user (JUPYTER_DATA_DIR, when set, chooses where) with
 * the absolute path of the workspace's tslab, through tslab's own installer.
 */
export function registerKernel(workspace: string, python: string): RegisterResult {
  const tslab = workspaceTslab(workspace);
  const r = runProcessSync(
    process.execPath,
    [tslab, "install", `--python=${python}`, `--binary=${tslab}`, "--user"],
    { env: jupyterEnv(workspace), timeoutMs: 60_000 },
  );
  return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The registered tslab kernelspec as Jupyter itself resolves it, or undefined. */
export function readKernelSpec(python: string, name = "tslab"): KernelSpec | undefined {
  const script = [
    "import json, sys",
    "from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel",
    "try:",
    `    s = KernelSpecManager().get_kernel_spec(${JSON.stringify(name)})`,
    "except NoSuchKernel:",
    "    sys.exit(3)",
    "print(json.dumps({'resourceDir': s.resource_dir, 'argv': s.argv}))",
  ].join("\n");
  const r = runProcessSync(python, ["-c", script], { timeoutMs: PROBE_TIMEOUT_MS });
  if (r.code !== 0) return undefined;
  try {
    const spec = JSON.parse(r.stdout) as KernelSpec;
    return Array.isArray(spec.argv) ? spec : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The tslab launcher a kernelspec starts, when the spec has the shape `tslab install` writes
 * (`<tslab> kernel --config-path {connection_file}`) and names an absolute, existing file.
 */
export function kernelSpecTslab(spec: KernelSpec): string | undefined {
  const [bin, sub, flag, file] = spec.argv;
  if (sub !== "kernel" || flag !== "--config-path" || file !== "{connection_file}")
    return undefined;
  if (!bin || !isAbsolute(bin) || !existsSync(bin)) return undefined;
  return bin;
}
