// Lint the kit's own TypeScript. Module sources (modules/) are checked by the build's own
// validator and by tsc on the exported package; generated files are linted through their sources.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "**/dist/**",
      "modules/**",
      "notebooks/**",
      "tests/fixtures/**",
      "tests/artifacts/**",
      "bench/out/**",
      // The grader's caches: compiled programs, kits and copies of third-party declarations.
      ".tito-cache/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
    },
  },
  {
    // Workspace packages import each other by package name and through its entries, never by a
    // path into another package (tests/core/dependencies.test.ts also checks the direction).
    files: ["core/src/**/*.ts", "tito/src/**/*.ts", "grader/src/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["../../*"], message: "import another workspace package by its name" },
            { group: ["@tinytorch-ts/*/src/*"], message: "import a package through its entries" },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        __dirname: "readonly",
        console: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Exercises that return a recorded result declare `let y: Tensor;` above the solution
    // region and assign it inside, so that the student's stub (which only throws) still
    // compiles. In the reference the variable is assigned once, which prefer-const flags.
    files: ["tinytorch-ts/src/core/**/*.ts"],
    rules: { "prefer-const": "off" },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
);
