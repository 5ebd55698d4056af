"""Names of options that the command line's parser offers as choices, importable without
NumPy or SciPy (the parser is built before anything heavy loads; ``util.stats`` uses them)."""

CORRECTIONS = ("holm", "bonferroni", "bh", "none")  # bh: Benjamini-Hochberg (the FDR)
