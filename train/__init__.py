"""xplus.train: layer-selective multi-stage tuning of decoder-only LLMs (with full and LoRA baselines)."""
