"""Training-only code (needs torch, the `train` extra). The runtime and the board never import it."""
