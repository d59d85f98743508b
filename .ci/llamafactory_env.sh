#!/usr/bin/env bash
# Create the separate venv in which tests/clients/test_llamafactory.py runs LLaMA-Factory's own dataset loader on
# our chat outputs. LLaMA-Factory 0.9.5 pins datasets<=4, transformers<=5.6, trl<=0.24, peft<=0.18, all older than
# xplus's, so it never goes into xplus's environment. Its torchaudio and torchvision requirements have no build for
# our CPU torch (2.13: torchaudio's library does not load, torchvision's PyPI build lacks its operators), so every
# requirement is installed except those two. LLaMA-Factory's mm_plugin.py still imports torchaudio at the top
# (it calls it only for audio inputs), so the venv gets a `torchaudio` module that raises if anything uses it.
#
# Idempotent: a venv that finished (stamp file) is checked and reused; a half-built one is completed.
# Usage: bash .ci/llamafactory_env.sh [VENV_DIR]   (default .cache/llamafactory-venv; PYTHON=python3.11 to pick one)
set -euo pipefail
version=0.9.5
venv="${1:-.cache/llamafactory-venv}"
stamp="$venv/.llamafactory-$version-ready"
check() { "$venv/bin/python" -c "import importlib.metadata as m, llamafactory.data; print('llamafactory', m.version('llamafactory'), 'ready in $venv')"; }
if [ -f "$stamp" ] && check; then exit 0; fi
start=$(date +%s)
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet --no-deps "llamafactory==$version"
mapfile -t reqs < <("$venv/bin/python" - <<'PY'
import importlib.metadata as m
for req in m.requires("llamafactory") or []:
    if "extra ==" not in req and not req.startswith(("torchaudio", "torchvision")):
        print(req)
PY
)
"$venv/bin/pip" install --quiet "torch==2.13.0" "${reqs[@]}"
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
mkdir -p "$site/torchaudio"
cat > "$site/torchaudio/__init__.py" <<'PY'
"""Not torchaudio: it has no build for this venv's torch. LLaMA-Factory imports it at the top of mm_plugin.py and
calls it only for audio inputs, which xplus's text chats never have; any use raises."""


def __getattr__(name):
    raise ImportError(f"torchaudio.{name}: torchaudio is not installed in this venv (no build for its torch)")
PY
check
touch "$stamp"
echo "llamafactory venv built in $(( $(date +%s) - start )) s"
