"""The codebook: seed, dimension and settings, the atoms and role matrices they define,
codebook files, and settings learnt from data."""
