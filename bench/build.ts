// `npm run bench:build`: how long `tito build` takes, excluding tsc (npm run build:package).
//   1. the course's real modules, copied to a scratch tree under bench/out/ (the real outputs
//      are never touched): a full build in a new process (loading typescript included) with
//      an empty cache, then a no-change rebuild (every module a cache hit);
//   2. a synthetic course of 20 module-sized sources (copies of the largest real module that
//      imports only kit support), the same figures.
// The load average is printed too: on a busy machine every figure is inflated.
// Targets: full build < 2 s, no-change rebuild < 0.3 s.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { KIT_ROOT as KIT } from "@tinytorch-ts/core";
import { buildCourse, listModules } from "tito/build";

const OUT = join(KIT, "bench", "out", "build");

function scratchRoot(name: string): string {
  const root = join(OUT, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "modules"), { recursive: true });
  cpSync(
    join(KIT, "tinytorch-ts", "src", "support"),
    join(root, "tinytorch-ts", "src", "support"),
    {
      recursive: true,
    },
  );
  return root;
}

function realCourse(): string {
  const root = scratchRoot("real");
  cpSync(join(KIT, "modules"), join(root, "modules"), { recursive: true });
  return root;
}

/** 20 renumbered copies of the largest real module that imports nothing but kit support. */
function syntheticCourse(): { root: string; lines: number } {
  const root = scratchRoot("synthetic");
  const candidates = listModules(KIT)
    .map((m) => ({ m, text: readFileSync(m.path, "utf8") }))
    .filter(({ text }) => !/from "tinytorch-ts\/(?!support\/)/.test(text))
    .sort((a, b) => b.text.length - a.text.length);
  const base = candidates[0];
  if (!base) throw new Error("no real module to copy");
  let lines = 0;
  for (let k = 1; k <= 20; k++) {
    const num = String(k).padStart(2, "0");
    // The copies extend no later module of theirs (01 names autograd's, which is not here).
    const text = base.text
      .replace(/^\/\/\| default_exp .*$/m, `//| default_exp synthetic.m${num}`)
      .replace(/^\/\/\| extended_by .*\n/gm, "");
    const dir = join(root, "modules", `${num}_synthetic${num}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `synthetic${num}_dev.ts`), text);
    lines += text.split("\n").length;
  }
  return { root, lines };
}

/**
 * A full build (every module rebuilt, module cache off) in a new process, as `npx tito build`
 * on a fresh checkout: loading typescript is included.
 */
function freshProcessBuildMs(root: string): { wall: number; cpu: number } {
  rmSync(join(root, ".tito-cache"), { recursive: true, force: true });
  const script = `
    const { buildCourse } = require("tito/build");
    const t = performance.now();
    buildCourse({ root: ${JSON.stringify(root)}, cache: false }).then((r) => {
      if (!r.ok) { console.error(r.errors.map((e) => e.message).join("\\n")); process.exit(1); }
      const u = process.cpuUsage();
      console.log(performance.now() - t, (u.user + u.system) / 1000);
    });`;
  const r = spawnSync("node", ["--require", "tsx/cjs", "-e", script], {
    cwd: KIT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stderr.slice(-2000)}`);
  const [wall, cpu] = r.stdout.trim().split(" ").map(Number);
  return { wall: wall ?? NaN, cpu: cpu ?? NaN };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function measure(label: string, root: string): Promise<void> {
  const modules = listModules(root).length;
  const cold = freshProcessBuildMs(root);
  await buildCourse({ root });
  let noChange = Infinity;
  for (let i = 0; i < 5; i++) {
    noChange = Math.min(
      noChange,
      await timed(async () => {
        const r = await buildCourse({ root });
        if (r.cached.length !== modules || r.written.length !== 0)
          throw new Error("not a no-change build");
      }),
    );
  }
  const cli = spawnSync("node", [join(KIT, "tito/bin/tito.js"), "build", "--root", root], {
    encoding: "utf8",
  });
  const cliMs = Number(/\((\d+) ms\)/.exec(cli.stdout)?.[1] ?? NaN);
  // cpu: user+system time of the whole build process (all threads, process start included);
  // it moves much less than wall time when other work competes for the cores.
  const f = (ms: number) => `${(ms / 1000).toFixed(3)} s`.padStart(9);
  console.log(`${label}: ${modules} module(s)`);
  console.log(
    `  full build, new process, empty cache:                                 ${f(cold.wall)}, cpu ${f(cold.cpu)}   target < 2 s`,
  );
  console.log(
    `  no-change rebuild, in process (content-hash cache, best of 5):        ${f(noChange)}   target < 0.3 s`,
  );
  console.log(
    `  no-change rebuild, as \`tito build\` reports it (new process):         ${f(cliMs)}`,
  );
}

async function main(): Promise<void> {
  console.log(
    `load average: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} on ${cpus().length} cores`,
  );
  const real = realCourse();
  const report = await buildCourse({ root: real, check: true });
  if (report.errors.length > 0) {
    console.log("real modules: not measured, the course does not build:");
    for (const e of report.errors) console.log(`  ${e.message}`);
  } else {
    await measure("real modules", real);
  }
  const synthetic = syntheticCourse();
  await measure(`synthetic course (${synthetic.lines} source lines)`, synthetic.root);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
