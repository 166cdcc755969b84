// The in-memory notebook every stage of the pipeline works on: nbformat 4.5, with cell sources
// held as one string (the .ipynb writer splits them into Jupyter's list-of-lines form). Every
// transform is a pure function Notebook -> Notebook over these types.

export type CellType = "code" | "markdown" | "raw";

/** nbgrader's cell metadata (schema_version 3). */
export interface NbgraderMetadata {
  grade?: boolean;
  solution?: boolean;
  locked?: boolean;
  task?: boolean;
  grade_id?: string;
  points?: number;
  schema_version?: number;
  /** Added by `tito build`: sha256 of the cell's source and grading metadata. */
  checksum?: string;
  [key: string]: unknown;
}

export interface CellMetadata {
  nbgrader?: NbgraderMetadata;
  /** jupytext's spacing hint: blank lines after this cell when it differs from one. */
  lines_to_next_cell?: number;
  /** The optional title on a percent-format marker line (`// %% Title`). */
  title?: string;
  deletable?: boolean;
  editable?: boolean;
  tags?: string[];
  [key: string]: unknown;
}

export interface StreamOutput {
  output_type: "stream";
  name: "stdout" | "stderr";
  text: string;
}

export interface DisplayDataOutput {
  output_type: "display_data";
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface ExecuteResultOutput {
  output_type: "execute_result";
  execution_count: number | null;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}

export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

interface CellBase {
  /** nbformat 4.5 cell id: ^[a-zA-Z0-9-_]+$, 1-64 chars, deterministic in this kit. */
  id: string;
  metadata: CellMetadata;
  source: string;
}

export interface CodeCell extends CellBase {
  cell_type: "code";
  execution_count: number | null;
  outputs: Output[];
}

export interface MarkdownCell extends CellBase {
  cell_type: "markdown";
  attachments?: Record<string, unknown>;
}

export interface RawCell extends CellBase {
  cell_type: "raw";
  attachments?: Record<string, unknown>;
}

export type Cell = CodeCell | MarkdownCell | RawCell;

export interface KernelSpec {
  name: string;
  display_name: string;
  language?: string;
}

export interface NotebookMetadata {
  kernelspec?: KernelSpec;
  language_info?: { name: string; [key: string]: unknown };
  jupytext?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Notebook {
  nbformat: 4;
  nbformat_minor: number;
  metadata: NotebookMetadata;
  cells: Cell[];
}

/** The kernelspec and language_info every notebook of this kit carries. */
export const TSLAB_KERNELSPEC: KernelSpec = {
  name: "tslab",
  display_name: "TypeScript",
  language: "typescript",
};

export const TSLAB_LANGUAGE_INFO = {
  name: "typescript",
  codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
  file_extension: ".ts",
  mimetype: "text/typescript",
  // What tslab 1.0.22 itself reports in kernel_info (a fixed string, not its TypeScript
  // version), so a notebook saved after a run in Jupyter keeps the same language_info.
  version: "3.7.2",
};

/** A notebook transform: pure, never mutates its input. */
export type Transform = (nb: Notebook) => Notebook;
