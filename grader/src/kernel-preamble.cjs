// Runs inside the grading kernel as the first cell, before any student code (the grader sends
// this file's text in an execute request). The grader decides every verdict in its own process
// from what the kernel records (see instrument.ts and docs/grading.md), so nothing here is
// needed for a verdict to be right, and nothing here is secret. What it does is defence in
// depth for what the kernel holds, the test code it is about to receive:
// - it switches the harness to recording, with this submission's seed;
// - it closes the doors out of JavaScript: V8's runtime flags (`--allow-natives-syntax` would
//   write through every freeze and list the source of every script), heap snapshots, native
//   addons, the inspector, workers and child processes;
// - it freezes the JavaScript built-ins, and the module system and compiler path that every
//   later cell goes through, so a cell cannot hook what the compiler does to the next cell's
//   source (a patched String.prototype.substring would see every test's text go by).
"use strict";

/**
 * tslab compiles `./x.ts` files a cell imports into an in-memory table of "side modules", and
 * its require looks a specifier up in that table (joined to the kernel's cwd, bare or not)
 * before Node's loader. So a file a student wrote at <cwd>/tinytorch-ts/support/testing.ts
 * would answer every test's `import ... from "tinytorch-ts/support/testing"`. The kernel's cwd
 * is a read-only kit directory (nothing can be written where that lookup goes); in addition,
 * the require every cell gets after this:
 * - answers the specifiers grader cells import (harness, package, libraries) with the modules
 *   loaded before any student code, pinned here, never looked up again;
 * - sends every other bare specifier (packages, Node built-ins) to Node's loader from the kit,
 *   so the side-module table can never serve one;
 * - leaves relative and absolute imports (a student's own helper files) to tslab.
 * Node's resolution cache is made a no-op (a planted entry would redirect a lookup kit code
 * makes later), and the global lookup paths cannot be recomputed from a changed NODE_PATH.
 */
function guardSideModules(tslabHandle, kernelRequire, preload) {
  const Module = kernelRequire("module");
  const nodeRequire = Module.createRequire(process.cwd() + "/__tito_kit__.js");
  const tslabRequire = tslabHandle.require;
  const startsWith = String.prototype.startsWith;
  const apply = Reflect.apply;
  const hasOwn = Object.hasOwn;
  const pinned = Object.create(null);
  for (const spec of preload) pinned[spec] = nodeRequire(spec);
  Object.freeze(pinned);
  const isBare = (spec) =>
    typeof spec === "string" &&
    spec !== "tslab" &&
    !apply(startsWith, spec, ["."]) &&
    !apply(startsWith, spec, ["/"]);
  function require(spec) {
    if (arguments.length === 1 && typeof spec === "string" && hasOwn(pinned, spec)) {
      return pinned[spec];
    }
    if (arguments.length === 1 && isBare(spec)) return nodeRequire(spec);
    return apply(tslabRequire, undefined, arguments);
  }
  require.resolve = nodeRequire.resolve;
  require.cache = nodeRequire.cache;
  Object.freeze(require);
  Module._pathCache = new Proxy(Object.create(null), {
    get: () => undefined,
    set: () => true,
    defineProperty: () => true,
  });
  Module._initPaths = function refused() {
    throw new Error("Module._initPaths is not available while grading");
  };
  return { exports: tslabHandle.exports, require };
}

module.exports = function titoPreamble(kernelRequire, config) {
  const {
    defineProperty,
    getOwnPropertyDescriptor,
    getOwnPropertyNames,
    getOwnPropertySymbols,
    getPrototypeOf,
    freeze,
    preventExtensions,
    hasOwn,
  } = Object;
  const TypeErrorCtor = TypeError;
  const problems = [];

  // 1. Load the harness and every module a grader cell imports, before student code can touch
  //    the module system, and switch the harness to recording: each test cell's records go to
  //    the grader as one display_data output of its own mime type (tslab sets the writer for
  //    each cell, so it is looked up when a test ends).
  for (const spec of config.preload) kernelRequire(spec);
  const jupyter = kernelRequire("tslab/dist/jupyter");
  const mime = config.mime;
  kernelRequire("tinytorch-ts/support/testing").grading.start({
    seed: config.seed,
    emit(message) {
      const write = jupyter.lastWriteDisplayData;
      if (typeof write === "function") {
        write({ data: { [mime]: message, "text/plain": "" }, metadata: {}, transient: {} }, false);
      }
    },
  });

  // 3. Freeze the intrinsics. Assigning a property that an object inherits from a frozen
  //    prototype fails (the "override mistake"), which breaks ordinary code: `this.name = "E"`
  //    in an Error subclass, vega's `array.forEach = ...`. So every writable property of a
  //    prototype becomes an accessor whose setter defines an own property on the receiver
  //    (and refuses to change the prototype itself). `constructor` stays a plain value, read-only
  //    except as listed below: util.inspect reads it from the descriptor.
  // Left writable:
  // - Error.stackTraceLimit (TypeScript itself sets it while compiling every cell): it changes
  //   how many frames a stack has (Error.prepareStackTrace is locked in 4b);
  // - `constructor` on Object.prototype and the Error prototypes, which ES5-style code assigns
  //   on objects inheriting them (`Foo.prototype = {...}; Foo.prototype.constructor = Foo`), and
  //   which util.inspect needs as a plain value to print objects and errors. The prototypes
  //   whose `constructor` decides what built-ins create (Array, typed arrays, Promise, RegExp:
  //   the species lookups) stay frozen.
  const WRITABLE = new Map([[Error, new Set(["stackTraceLimit"])]]);
  for (const E of [
    Object,
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
    AggregateError,
  ]) {
    WRITABLE.set(E.prototype, new Set(["constructor"]));
  }

  // Static functions that libraries polyfill with `Number.isFinite = Number.isFinite || f`
  // (ES2015 and later additions; mathjs, loaded lazily by danfojs, does exactly this). They get
  // the same accessor, which accepts assigning the value they already have. Older functions
  // (Math.abs, Math.exp, ...) stay plain read-only values: an accessor makes every call through
  // it several times slower, and numeric code calls them in its innermost loops.
  const POLYFILLED = new Set([
    "isFinite", "isNaN", "isInteger", "isSafeInteger", "parseFloat", "parseInt", "sign",
    "trunc", "cbrt", "expm1", "log1p", "log10", "log2", "hypot", "fround", "clz32", "imul",
    "cosh", "sinh", "tanh", "acosh", "asinh", "atanh", "assign", "entries", "values",
    "fromEntries", "getOwnPropertyDescriptors", "is", "setPrototypeOf", "hasOwn", "groupBy",
    "from", "of", "raw", "fromCodePoint", "allSettled", "any", "withResolvers",
  ]); // prettier-ignore

  /**
   * Replaces a writable data property by an accessor: reading gives the value; assigning the
   * same value is a no-op; assigning anything else to `obj` itself throws; assigning on an
   * object that inherits from `obj` creates that object's own property.
   */
  function tameOverride(obj, key, desc) {
    const value = desc.value;
    defineProperty(obj, key, {
      get() {
        return value;
      },
      set(v) {
        if (this === obj) {
          if (v === value) return;
          throw new TypeErrorCtor(`Cannot assign to read only property '${String(key)}'`);
        }
        defineProperty(this, key, {
          value: v,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      },
      enumerable: desc.enumerable,
      configurable: false,
    });
  }

  /**
   * Makes every own property of `obj` read-only. On a prototype, writable properties become
   * override-friendly accessors instead and no property can be added (an `Object.prototype.then`
   * getter would make every object a thenable). Constructors and namespaces stay extensible, so
   * a library may add what is missing, never replace what exists. Objects reachable from the
   * properties are handed to `next` (for a transitive walk).
   */
  function lock(obj, next) {
    const keep = WRITABLE.get(obj);
    const isPrototype = hasOwn(obj, "constructor") && typeof obj.constructor === "function";
    for (const key of [...getOwnPropertyNames(obj), ...getOwnPropertySymbols(obj)]) {
      const desc = getOwnPropertyDescriptor(obj, key);
      if (!desc || (keep && keep.has(key))) continue;
      if ("value" in desc) {
        if (next) next(desc.value);
        if (!desc.configurable && !desc.writable) continue;
        const tame = isPrototype ? key !== "constructor" : POLYFILLED.has(key);
        if (tame && desc.writable && desc.configurable) {
          tameOverride(obj, key, desc);
          continue;
        }
        try {
          defineProperty(obj, key, { writable: false, configurable: false });
        } catch (e) {
          problems.push(`${String(key)}: ${e && e.message}`);
        }
      } else {
        if (next) {
          next(desc.get);
          next(desc.set);
        }
        if (desc.configurable) defineProperty(obj, key, { configurable: false });
      }
    }
    if (next) next(getPrototypeOf(obj));
    if (isPrototype) preventExtensions(obj);
  }

  const seen = new Set();
  const queue = [];
  function visit(obj) {
    if ((typeof obj !== "object" && typeof obj !== "function") || obj === null) return;
    if (seen.has(obj)) return;
    seen.add(obj);
    queue.push(obj);
  }
  const hidden = [
    getPrototypeOf(Int8Array),
    getPrototypeOf([][Symbol.iterator]()),
    getPrototypeOf(getPrototypeOf([][Symbol.iterator]())),
    getPrototypeOf(new Map()[Symbol.iterator]()),
    getPrototypeOf(new Set()[Symbol.iterator]()),
    getPrototypeOf(""[Symbol.iterator]()),
    getPrototypeOf(/x/[Symbol.matchAll]("")),
    getPrototypeOf(function* () {}),
    getPrototypeOf(async function () {}),
    getPrototypeOf(async function* () {}),
  ];
  for (const name of config.intrinsics) if (name in globalThis) visit(globalThis[name]);
  for (const h of hidden) visit(h);
  visit(console);
  while (queue.length > 0) lock(queue.shift(), visit);

  // 4. The global names cannot be rebound (globalThis.Math = fake).
  for (const name of config.globals) {
    const desc = getOwnPropertyDescriptor(globalThis, name);
    if (!desc || !desc.configurable) continue;
    const value = globalThis[name];
    defineProperty(globalThis, name, { value, writable: false, configurable: false });
  }

  // 4b. Stack traces: a cell that replaced Error.prepareStackTrace would be handed the call
  //     sites of every test that creates an error.
  for (const key of ["prepareStackTrace", "captureStackTrace"]) {
    const desc = getOwnPropertyDescriptor(Error, key);
    const value = desc && "value" in desc ? desc.value : undefined;
    try {
      defineProperty(Error, key, { value, writable: false, configurable: false });
    } catch (e) {
      problems.push(`Error.${key}: ${e && e.message}`);
    }
    if (typeof value === "function") freeze(value);
  }

  /** Locks the prototype chains of the classes a module exports, and optionally its exports. */
  function lockModule(exported, { exportsToo }) {
    if (typeof exported !== "object" && typeof exported !== "function") return;
    for (const name of getOwnPropertyNames(exported)) {
      const desc = getOwnPropertyDescriptor(exported, name);
      const value = desc && "value" in desc ? desc.value : undefined;
      if (typeof value !== "function" || !value.prototype) continue;
      for (let p = value.prototype; p && p !== Object.prototype; p = getPrototypeOf(p)) {
        if (!Object.isFrozen(p)) lock(p);
      }
    }
    if (exportsToo && !Object.isFrozen(exported)) lock(exported);
  }

  // 5. The module system. tslab's own object (exports + require) is frozen, Node's Module and
  //    its prototype are frozen, and every module loaded so far keeps its cache entry and exports.
  const tslabHandle = guardSideModules(globalThis.__tslab__, kernelRequire, config.preload);
  freeze(globalThis.__tslab__.require);
  freeze(tslabHandle);
  defineProperty(globalThis, "__tslab__", {
    value: tslabHandle,
    writable: false,
    configurable: false,
  });
  const Module = kernelRequire("module");
  lock(Module);
  lock(Module.prototype);
  const cache = Module._cache;
  for (const key of getOwnPropertyNames(cache)) {
    const entry = cache[key];
    defineProperty(cache, key, { writable: false, configurable: false });
    if (!entry || typeof entry !== "object") continue;
    defineProperty(entry, "exports", { writable: false, configurable: false });
    const exported = entry.exports;
    // The reference package (harness and earlier modules): their exports are what tests import.
    if (key.includes(config.packageMarker)) freeze(exported);
    // tslab and ZeroMQ build the kernel's replies: their classes' methods must stay theirs, or
    // a cell could turn a failed test's "error" reply into "ok".
    if (config.kernelPackages.some((p) => key.includes(p)) && exported) {
      lockModule(exported, { exportsToo: false });
    }
    // The compiler, whole: a cell could otherwise swap a function tslab looks up through the
    // module object (ts.transpileModule, say) and compile the next test into nothing.
    if (config.lockedPackages.some((p) => key.includes(p)) && exported) {
      lockModule(exported, { exportsToo: true });
    }
  }

  // 6. The exits from the sandbox. V8's runtime flags (`--allow-natives-syntax` turns on
  //    %-functions that write through any freeze and read any script's source; the kernel is
  //    also started with --freeze-flags-after-init, under which setting one aborts the
  //    process), heap snapshots (every string in memory), a native addon, the inspector, a
  //    worker or a child process.
  function refuse(what) {
    return function refused() {
      throw new Error(`${what} is not available while grading`);
    };
  }
  for (const key of ["dlopen", "binding", "_linkedBinding"]) {
    if (key in process) {
      defineProperty(process, key, {
        value: refuse(`process.${key}`),
        writable: false,
        configurable: false,
      });
    }
  }
  const closeModule = (spec, keys) => {
    let mod;
    try {
      mod = kernelRequire(spec);
    } catch {
      return;
    }
    for (const key of keys) {
      if (hasOwn(mod, key)) {
        defineProperty(mod, key, {
          value: refuse(`${spec}.${key}`),
          writable: false,
          configurable: false,
        });
      }
    }
    freeze(mod);
  };
  closeModule("v8", [
    "setFlagsFromString",
    "writeHeapSnapshot",
    "getHeapSnapshot",
    "setHeapSnapshotNearHeapLimit",
  ]);
  closeModule("inspector", ["Session", "open", "url", "waitForDebugger", "close"]);
  closeModule("inspector/promises", ["Session", "open", "url", "waitForDebugger", "close"]);
  closeModule("worker_threads", ["Worker"]);
  closeModule("child_process", [
    "spawn",
    "spawnSync",
    "exec",
    "execSync",
    "execFile",
    "execFileSync",
    "fork",
  ]);
  closeModule("cluster", ["fork", "setupPrimary", "setupMaster"]);

  // 6b. The Node built-ins on the path from a cell's source to its execution. tslab runs a
  //     compiled cell with vm.runInThisContext: a cell that replaced it (or
  //     Script.prototype.runInThisContext) would be handed the source of every later cell,
  //     hidden checks included. Built-in modules are not in Module._cache, so they are frozen
  //     here, with the prototypes of their classes.
  for (const spec of config.nodeModules) {
    let mod;
    try {
      mod = kernelRequire(spec);
    } catch {
      continue;
    }
    lockModule(mod, { exportsToo: true });
  }

  if (problems.length > 0) throw new Error(`grading preamble: ${problems.join("; ")}`);
};
