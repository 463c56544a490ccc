"""The subcommands of ``jsonvec``, one module each; :mod:`jsonvec.cli` assembles them."""
