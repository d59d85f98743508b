#!/usr/bin/env bash
# Prepare, on the development machine, what the GPU benchmark run (bench/gpu_run.sh) needs on a device machine
# that reaches no network: the Python packages its image lacks (as wheels for its Python 3.12) and the real
# sample data the benchmarks read. Everything lands in .gpu/ (git-ignored through .git/info/exclude), which the
# device call carries: run(command="bash bench/gpu_run.sh", carry=[".gpu"], timeout_s=600).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
SHARED=${XPLUS_SHARED_DATA:-../shared/data}
mkdir -p .gpu/whl .gpu/data/flores200/dev .gpu/data/bitext
# Packages xplus imports that the device image (torch, transformers, tokenizers, numpy, pyyaml, regex, tqdm,
# fsspec, huggingface_hub, safetensors ... already there) does not hold. --no-deps: one version of each.
PKGS=(datatrove==0.10.1 dill==0.4.0 loguru==0.7.3 multiprocess==0.70.18 zstandard==0.25.0 ftfy==6.3.1
      wcwidth==0.2.14)
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .gpu/whl "${PKGS[@]}"
cp "$SHARED"/flores200/dev/{eng_Latn,swh_Latn}.txt .gpu/data/flores200/dev/
cp -r "$SHARED"/bitext/tico19 .gpu/data/bitext/
du -sh .gpu
