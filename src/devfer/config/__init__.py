"""The study config: validated once against the JSON Schema, then turned into typed settings.

`devfer.config.validate` checks a config and fills its defaults; `devfer.config.settings`
builds each stage's settings object from it.
"""

from devfer.config.validate import (
    ConfigError,
    check_roots,
    dataset_root,
    load_config,
    load_schema,
    validate_config,
)

__all__ = [
    "ConfigError",
    "check_roots",
    "dataset_root",
    "load_config",
    "load_schema",
    "validate_config",
]
