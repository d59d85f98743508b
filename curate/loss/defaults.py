"""The loss step's defaults, in a module without torch: recipes, the CLI and the block's constructor read them
without loading the scorer (torch is imported only where pairs are scored)."""

#: the paper's scorer
DEFAULT_MODEL = "facebook/nllb-200-distilled-600M"
#: score the pair as written (`forward`), or both ways and keep the worse (`both`)
DIRECTIONS = ("forward", "both")
