"""``python -m jsonvec``: the same command line as the ``jsonvec`` script."""

from jsonvec.cli import main

if __name__ == "__main__":
    main()
