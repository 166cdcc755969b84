// The fixed parts of a student bundle: its package.json, the package's tsconfig (self-contained:
// the bundle has no tsconfig.base.json), the kit support code, and the student commands of tito.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { bundleLockfile, type BundlePackageJson, type Lockfile } from "./bundle-lock";
import { dirname, join, relative } from "node:path";
import { KIT_ROOT, writeFileAtomic, coursePath } from "@tinytorch-ts/core";

/** The commands a student gets; everything else in tito/src/commands stays with instructors. */
export const STUDENT_COMMANDS = [
  "export",
  "test",
  "status",
  "milestone",
  "setup",
  "notebook",
  "doctor",
];
/**
 * The kit's dependencies that only instructors' commands load (schema checks in the kit's tests,
 * the Gradescope zip, the gradebook database); every other one is a student's too (the package,
 * tito's student commands, the kernel).
 */
export const INSTRUCTOR_ONLY_DEPENDENCIES = ["ajv", "jszip", "sql.js"];
/** tito directories students never need (and which hold instructor-side logic). */
const INSTRUCTOR_DIRS = ["release", "build"];

export const PACKAGE_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022"],
    module: "commonjs",
    moduleResolution: "node10",
    types: ["node"],
    strict: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    forceConsistentCasingInFileNames: true,
    ignoreDeprecations: "5.0",
    rootDir: "src",
    outDir: "dist",
    declaration: true,
  },
  include: ["src"],
};

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

/** Copies every file under `from` (recursively) for which `keep(relativePath)` holds. */
function copyTree(
  from: string,
  to: string,
  keep: (rel: string) => boolean,
  copied: string[],
): void {
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const abs = join(dir, entry);
      const rel = relative(from, abs).split("\\").join("/");
      if (!keep(rel)) continue;
      if (statSync(abs).isDirectory()) visit(abs);
      else {
        const dest = join(to, rel);
        mkdirSync(dirname(dest), { recursive: true });
        copyFileSync(abs, dest);
        copied.push(abs);
      }
    }
  };
  visit(from);
}

function keepToolFile(rel: string): boolean {
  const top = rel.split("/")[0] ?? "";
  if (INSTRUCTOR_DIRS.includes(top)) return false;
  // commands/NAME.ts and its option table commands/NAME.args.ts
  const cmd = /^commands\/([^/.]+)(\.args)?\.ts$/.exec(rel);
  if (cmd) return STUDENT_COMMANDS.includes(cmd[1] ?? "");
  return true;
}

/**
 * Copies the files the kit ships verbatim (tito's student commands, support code) and returns
 * the absolute paths of the originals (the leak audit treats their lines as public).
 */
export function copyKitFiles(courseRoot: string, bundle: string): string[] {
  const copied: string[] = [];
  const tito = join(KIT_ROOT, "tito");
  copyTree(join(tito, "src"), join(bundle, "tito", "src"), keepToolFile, copied);
  copyTree(join(tito, "bin"), join(bundle, "tito", "bin"), () => true, copied);
  // The shared core (notebook format, kernel client, runner) the student commands import.
  copyTree(join(KIT_ROOT, "core", "src"), join(bundle, "core", "src"), () => true, copied);
  // Every milestone ships: the notebooks point students to them (`npx tito milestone NN`).
  // Milestones import only from the package by name ("tinytorch-ts/..."), so in the bundle they
  // run on the student's own exported code.
  const milestones = join(courseRoot, "milestones");
  if (existsSync(milestones)) {
    copyTree(milestones, join(bundle, "milestones"), (r) => !r.startsWith("."), copied);
  }
  const support = existsSync(coursePath(courseRoot, "support"))
    ? coursePath(courseRoot, "support")
    : coursePath(KIT_ROOT, "support");
  copyTree(support, coursePath(bundle, "support"), (r) => !r.endsWith(".d.ts"), copied);
  return copied;
}

export function writePackageMetadata(courseRoot: string, bundle: string): void {
  const kitPkg = readJson(join(KIT_ROOT, "package.json"));
  const titoPkg = readJson(join(KIT_ROOT, "tito", "package.json"));
  const corePkg = readJson(join(KIT_ROOT, "core", "package.json"));
  // The grader stays with instructors: the bundle's tito depends on what the bundle ships.
  const titoDeps = Object.entries((titoPkg.dependencies ?? {}) as Record<string, string>).filter(
    ([name]) => name !== "@tinytorch-ts/grader",
  );
  const pkgJsonPath = existsSync(join(courseRoot, "tinytorch-ts", "package.json"))
    ? join(courseRoot, "tinytorch-ts", "package.json")
    : join(KIT_ROOT, "tinytorch-ts", "package.json");
  const tinytorch = readJson(pkgJsonPath);
  tinytorch.description =
    "Your tinytorch-ts package: `npx tito export <notebook>` fills it with your code.";
  writeFileAtomic(
    join(bundle, "tinytorch-ts", "package.json"),
    JSON.stringify(tinytorch, null, 2) + "\n",
  );
  writeFileAtomic(
    join(bundle, "tinytorch-ts", "tsconfig.json"),
    JSON.stringify(PACKAGE_TSCONFIG, null, 2) + "\n",
  );
  writeFileAtomic(join(bundle, "core", "package.json"), JSON.stringify(corePkg, null, 2) + "\n");
  // The bundle's tito is the student CLI only: not the library entry (`tito/build`) the kit's
  // benches use, whose files the bundle does not ship.
  const { exports: _exports, typesVersions: _typesVersions, ...titoCli } = titoPkg;
  const bundleTitoPkg = {
    ...titoCli,
    description: "The student commands of the course: setup, test, export, status, milestone.",
    dependencies: Object.fromEntries(titoDeps),
  };
  writeFileAtomic(
    join(bundle, "tito", "package.json"),
    JSON.stringify(bundleTitoPkg, null, 2) + "\n",
  );
  const bundlePkg = bundlePackageJson(kitPkg);
  // Every workspace of the bundle, with the package.json the bundle ships for it.
  const lock = bundleLockfile(
    readJson(join(KIT_ROOT, "package-lock.json")) as unknown as Lockfile,
    bundlePkg,
    { core: corePkg, "tinytorch-ts": tinytorch, tito: bundleTitoPkg },
  );
  writeFileAtomic(join(bundle, "package-lock.json"), JSON.stringify(lock, null, 2) + "\n");
  writeFileAtomic(join(bundle, "package.json"), JSON.stringify(bundlePkg, null, 2) + "\n");
  writeFileAtomic(join(bundle, ".gitignore"), "node_modules/\n");
}

/**
 * The bundle's package.json: the kit's dependencies minus the instructors' own, TypeScript (the
 * package is compiled by `tito export`), and the kit's `overrides`, without which npm cannot
 * resolve danfojs-node's dependencies (an xlsx tarball on a CDN, a native TensorFlow build).
 */
export function bundlePackageJson(kitPkg: Record<string, unknown>): BundlePackageJson {
  const deps = { ...(kitPkg.dependencies as Record<string, string>) };
  for (const name of INSTRUCTOR_ONLY_DEPENDENCIES) delete deps[name];
  const devDeps = (kitPkg.devDependencies ?? {}) as Record<string, string>;
  if (devDeps.typescript) deps.typescript = devDeps.typescript;
  const sorted = Object.fromEntries(Object.entries(deps).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    name: "tinytorch-ts-course",
    version: String(kitPkg.version ?? "0.1.0"),
    private: true,
    description:
      "Your copy of the tinytorch-ts course: notebooks, your package, and the tito commands.",
    workspaces: ["core", "tinytorch-ts", "tito"],
    scripts: {
      setup: "tito setup",
      notebook: "tito notebook",
      doctor: "tito doctor",
      status: "tito status",
    },
    engines: kitPkg.engines,
    dependencies: sorted,
    ...(kitPkg.overrides ? { overrides: kitPkg.overrides } : {}),
  };
}
