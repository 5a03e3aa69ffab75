"""User-facing errors. Each carries one clear line; the CLI prints it and exits non-zero."""


class SrcFpgaError(Exception):
    """Base class for every error caused by bad input or a missing tool."""


class ModelFileError(SrcFpgaError):
    """A model file is missing, malformed, of the wrong kind or inconsistent."""


class ConfigError(SrcFpgaError, ValueError):
    """A configuration value is out of range or inconsistent with the model."""


class DatasetError(SrcFpgaError):
    """A dataset is missing, malformed or does not fit the model."""


class ToolNotFoundError(SrcFpgaError):
    """An external tool (simulator, synthesizer) is not usable; the message says how to install it."""


class OutputPathError(SrcFpgaError):
    """An output file or directory cannot be written (checked before the long work starts)."""
