// Student notebooks are plain Jupyter notebooks for the tslab kernel. The jupytext section of
// the source's header is dropped: a student's Jupyter with jupytext installed would otherwise
// try to pair the notebook with a `.ts` file that students do not have.
import { type Notebook, TSLAB_KERNELSPEC, TSLAB_LANGUAGE_INFO } from "@tinytorch-ts/core/notebook";

export function studentMetadata(nb: Notebook): Notebook {
  const { jupytext: _jupytext, ...rest } = nb.metadata;
  return {
    ...nb,
    metadata: {
      ...rest,
      kernelspec: { ...TSLAB_KERNELSPEC },
      language_info: { ...TSLAB_LANGUAGE_INFO },
    },
  };
}
