"""xCOMET in its own environment: unbabel-comet 2.2.7 pins numpy<2, transformers<5 and huggingface-hub<1, which
xplus cannot install beside datatrove (numpy>=2) and transformers 5.

- `env`: `xplus evaluate setup-comet` creates a venv from the pinned `requirements.txt` shipped here.
- `runner`: the script that venv's python runs; JSONL in, JSONL out; imports comet, never xplus.
- `client`: what xplus calls: writes the JSONL, runs the runner as a subprocess, reads the scores back.
"""
