// The analytical engine (perf/modeling, generated from modules/14_profiling): dimension checks,
// the roofline model, its inverse, the catalogue optimizer, pipelines and plugin discovery.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ACCELERATOR_CATALOGUE,
  BaseModel,
  CheapestHardwareOptimizer,
  DimensionError,
  Pipeline,
  PipelineError,
  RequiredBandwidthSolver,
  ResolverRegistry,
  RooflineModel,
  expectDimension,
  makeWorkload,
  measuredMachineSpec,
  quantity,
  type Quantity,
} from "../../tinytorch-ts/src/perf/modeling";

const a100 = ACCELERATOR_CATALOGUE.find((h) => h.name.startsWith("NVIDIA A100"));

test("the catalogue carries published figures with units and sources", () => {
  assert.ok(a100, "A100 is in the catalogue");
  assert.is(a100.peakFlops.toNumber("Tflop/s"), 19.5);
  assert.is(a100.bandwidth.toNumber("GB/s"), 2039);
  for (const h of ACCELERATOR_CATALOGUE) {
    expectDimension(h.peakFlops, "flop/s", h.name);
    expectDimension(h.bandwidth, "B/s", h.name);
    if (h.tdp) expectDimension(h.tdp, "W", h.name);
    assert.ok(h.source.length > 0, `${h.name} names its source`);
  }
});

test("units are checked: a rate in the wrong dimension is a DimensionError", () => {
  assert.throws(
    () => expectDimension(quantity(5, "GB"), "B/s", "bw"),
    (e: unknown) => e instanceof DimensionError,
  );
  assert.throws(() => expectDimension(5, "s", "t"), /expected a quantity/);
  assert.is(expectDimension(quantity(2, "Tflop/s"), "flop/s", "peak").toNumber("Gflop/s"), 2000);
  const bad = { ...a100!, bandwidth: quantity(2039, "Gflop/s") };
  assert.throws(
    () => new RooflineModel().run({ workload: makeWorkload("w", 1e9, 1e9), hardware: bad }),
    /B\/s/,
  );
});

test("the roofline model on the A100: a memory-bound and a compute-bound workload", () => {
  const model = new RooflineModel();
  // 1 GFLOP over 1 GB: intensity 1 flop/B, far left of the A100 ridge (19.5e12 / 2.039e12 ≈ 9.56).
  const mem = model.run({ workload: makeWorkload("axpy-like", 1e9, 1e9), hardware: a100! });
  assert.is(mem.bound, "memory-bound");
  assert.ok(Math.abs(mem.latency.toNumber("s") - 1e9 / 2.039e12) < 1e-12);
  assert.ok(Math.abs(mem.ridgeIntensity.toNumber("flop/B") - 19.5 / 2.039) < 1e-9);
  assert.ok(Math.abs(mem.attainableFlops.toNumber("Tflop/s") - 2.039) < 1e-9);
  const dense = model.run({
    workload: makeWorkload("gemm", 2 * 4096 ** 3, 3 * 4 * 4096 ** 2),
    hardware: a100!,
  });
  assert.is(dense.bound, "compute-bound");
  assert.ok(Math.abs(dense.latency.toNumber("ms") - (2 * 4096 ** 3) / 19.5e9) < 1e-9);
});

test("the solver inverts the model: hardware with exactly the solved figures meets the target", () => {
  const w = makeWorkload("w", 3e9, 6e8);
  const s = new RequiredBandwidthSolver().run({ workload: w, targetLatency: quantity(2, "ms") });
  assert.ok(Math.abs(s.requiredBandwidth.toNumber("GB/s") - 300) < 1e-9);
  assert.ok(Math.abs(s.requiredFlops.toNumber("Tflop/s") - 1.5) < 1e-12);
  const hw = { ...a100!, peakFlops: s.requiredFlops, bandwidth: s.requiredBandwidth };
  assert.ok(
    Math.abs(new RooflineModel().run({ workload: w, hardware: hw }).latency.toNumber("ms") - 2) <
      1e-9,
  );
  assert.throws(
    () => new RequiredBandwidthSolver().run({ workload: w, targetLatency: quantity(0, "s") }),
    /positive/,
  );
});

test("the optimizer picks the cheapest feasible entry, skipping unpriced ones, and counts what it searched", () => {
  // 10 GB per pass at a 10 ms target needs 1 TB/s: only the A100, H100 and RTX 4090 qualify.
  const w = makeWorkload("bandwidth-heavy", 1e9, 1e10);
  const here = measuredMachineSpec({ peakFlopsPerSecond: 5e9, bandwidthBytesPerSecond: 5e9 });
  const catalogue = [...ACCELERATOR_CATALOGUE, here];
  const r = new CheapestHardwareOptimizer().run({
    workload: w,
    targetLatency: quantity(10, "ms"),
    catalogue,
  });
  assert.equal(r.bestConfig, { hardware: "NVIDIA GeForce RTX 4090" });
  assert.is(r.objectiveValue, 1599);
  assert.is(r.totalSearched, catalogue.length);
  assert.equal([...r.feasible].sort(), [
    "NVIDIA A100 80GB SXM",
    "NVIDIA GeForce RTX 4090",
    "NVIDIA H100 SXM",
  ]);
  const frugal = new CheapestHardwareOptimizer("tdpWatts").run({
    workload: w,
    targetLatency: quantity(10, "ms"),
    catalogue,
  });
  assert.equal(frugal.bestConfig, { hardware: "NVIDIA A100 80GB SXM" });
  // A tiny workload: this machine (price 0) is the cheapest that qualifies.
  const tiny = new CheapestHardwareOptimizer().run({
    workload: makeWorkload("tiny", 1e3, 1e3),
    targetLatency: quantity(1, "ms"),
    catalogue,
  });
  assert.equal(tiny.bestConfig, { hardware: here.name });
  assert.throws(
    () =>
      new CheapestHardwareOptimizer().run({
        workload: w,
        targetLatency: quantity(1, "us"),
        catalogue,
      }),
    /no hardware/,
  );
});

class Square extends BaseModel<{ side: Quantity }, { area: Quantity }> {
  readonly requires = ["side"];
  readonly produces = { area: "m^2" };
  solve({ side }: { side: Quantity }): { area: Quantity } {
    return { area: side.multiply(side) as Quantity };
  }
}

test("a pipeline checks the whole chain before running, passes outputs forward and calls back", () => {
  const calls: string[] = [];
  const p = new Pipeline([new RooflineModel(), new RequiredBandwidthSolver()]).registerCallback({
    onStageEnd: (name, result) => calls.push(`${name}:${Object.keys(result).length}`),
  });
  const out = p.run({
    workload: makeWorkload("w", 1e9, 1e9),
    hardware: a100!,
    targetLatency: quantity(1, "ms"),
  });
  assert.equal(Object.keys(out), ["RooflineModel", "RequiredBandwidthSolver"]);
  assert.equal(calls, ["RooflineModel:7", "RequiredBandwidthSolver:2"]);
  let ran = false;
  class Spy extends Square {
    override solve(i: { side: Quantity }): { area: Quantity } {
      ran = true;
      return super.solve(i);
    }
  }
  assert.throws(
    () => new Pipeline([new Spy(), new RequiredBandwidthSolver()]).run({ side: quantity(2, "m") }),
    (e: unknown) => e instanceof PipelineError && /workload, targetLatency/.test(e.message),
  );
  assert.is(ran, false, "no stage runs when a later one cannot");
  const area = new Pipeline([new Square()]).run({ side: quantity(3, "m") }).Square.area as Quantity;
  assert.is(area.toNumber("m^2"), 9);
});

/** Writes a package into a fresh node_modules folder; returns that folder. */
function fixture(): string {
  const root = mkdtempSync(join(tmpdir(), "tt-plugin-test-"));
  const nm = join(root, "node_modules");
  const write = (pkg: string, files: Record<string, string>) => {
    mkdirSync(join(nm, pkg), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(nm, pkg, name), text);
  };
  write("tt-energy", {
    "package.json": JSON.stringify({
      name: "tt-energy",
      "tinytorch-ts": {
        plugins: {
          energy: "./lib.js#EnergyModel",
          broken: "./lib.js#Nope",
          outside: "../evil.js#X",
        },
      },
    }),
    "lib.js":
      "class EnergyModel { constructor() { this.requires = ['latency', 'power']; this.produces = { energy: 'J' }; }\n" +
      "  solve({ latency, power }) { return { energy: latency.multiply(power) }; } }\nmodule.exports = { EnergyModel };\n",
  });
  write("@lab/units-liar", {
    "package.json": JSON.stringify({
      name: "@lab/units-liar",
      "tinytorch-ts": { plugins: { liar: "./index.js#Liar" } },
    }),
    "index.js":
      "class Liar { constructor() { this.requires = ['x']; this.produces = { y: 's' }; } solve({ x }) { return { y: x }; } }\n" +
      "module.exports = { Liar };\n",
  });
  write("plain-package", { "package.json": JSON.stringify({ name: "plain-package" }) });
  writeFileSync(join(nm, "evil.js"), "module.exports = { X: class {} };\n");
  symlinkSync(join(nm, "plain-package"), join(nm, "linked-package"));
  return nm;
}

test("the registry discovers plugins declared in installed packages' package.json", () => {
  const nm = fixture();
  try {
    const registry = ResolverRegistry.withBuiltins();
    const found = registry.discover({ nodeModulesDirs: [nm] });
    assert.equal(found.sort(), ["energy", "liar"]);
    const available = registry.listAvailable();
    assert.equal(Object.keys(available).slice(0, 3), [
      "roofline",
      "required_bandwidth",
      "cheapest_hardware",
    ]);
    assert.equal(Object.keys(available).slice(3).sort(), ["energy", "liar"]);
    assert.is(available.energy.source, "tt-energy");
    assert.equal(available.energy.requires, ["latency", "power"]);
    assert.is(available.liar.source, "@lab/units-liar", "scoped packages are searched");
    const e = registry
      .create("energy")
      .run({ latency: quantity(2, "ms"), power: quantity(300, "W") });
    assert.ok(Math.abs((e.energy as Quantity).toNumber("J") - 0.6) < 1e-12);
    // A plugin that does not extend BaseModel is still held to its declared units.
    assert.throws(() => registry.create("liar").run({ x: quantity(1, "m") }), /liar\.y/);
    assert.is(registry.errors.length, 2, registry.errors.join("\n"));
    assert.ok(registry.errors.some((m) => m.includes("'broken'") && m.includes("not a class")));
    assert.ok(
      registry.errors.some((m) => m.includes("'outside'") && m.includes("outside the package")),
    );
    assert.throws(() => registry.create("outside"), /no resolver named 'outside'/);
    assert.throws(
      () => ResolverRegistry.withBuiltins().register("roofline", () => new RooflineModel()),
      /already registered/,
    );
  } finally {
    rmSync(join(nm, ".."), { recursive: true, force: true });
  }
});

test("discovery with no plugins and a missing folder finds nothing and reports nothing", () => {
  const registry = new ResolverRegistry();
  assert.equal(
    registry.discover({ nodeModulesDirs: [join(tmpdir(), "no-such-node-modules-dir")] }),
    [],
  );
  assert.equal(registry.errors, []);
});

test.run();
