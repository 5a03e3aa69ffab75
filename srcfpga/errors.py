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


class DegradedWarning(UserWarning):
    """A feature fell back to a lesser form because a tool or system library is missing (e.g. VCD
    instead of FST waveforms); the message says what was lost, why, and how to get it. The CLI prints it
    as one ``srcfpga: warning: ...`` line."""


class OutputPathError(SrcFpgaError):
    """An output file or directory cannot be written (checked before the long work starts)."""
