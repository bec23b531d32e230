"""Configuration: a TOML file and the environment go in; a checked, immutable Settings comes out.

loader (find, read, defaults) -> reader (typed keys) -> schema (sections) -> checks, values, describe.
"""
