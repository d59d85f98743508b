"""xplus.curate: datatrove blocks that turn raw parallel corpora into clean, traceable instruction data."""
