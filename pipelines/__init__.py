"""xplus.pipelines: ready recipes and the root `xplus` command line."""
