"""The app's configuration: the typed, frozen, validated model (`config.model`) and how it is
loaded from CDK context (`config.loading`)."""

from config.loading import CONTEXT_KEY, load_config
from config.model import (
    AppConfig,
    BackupConfig,
    DatabaseConfig,
    PipelineConfig,
    RemovalPosture,
    StageConfig,
    VaultLockConfig,
    VaultLockMode,
    partition,
)
from config.rules import ConfigError

__all__ = [
    "CONTEXT_KEY",
    "AppConfig",
    "BackupConfig",
    "ConfigError",
    "DatabaseConfig",
    "PipelineConfig",
    "RemovalPosture",
    "StageConfig",
    "VaultLockConfig",
    "VaultLockMode",
    "load_config",
    "partition",
]
