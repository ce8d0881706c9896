"""Errors a user can cause and fix. The CLI prints `str(err)` as one line on stderr and exits non-zero.

Each message names the problem and the fix. Candidate failures are *not* exceptions: they are values
(CheckReport, ExtractionError, ...) so a run goes on without them.
"""

from __future__ import annotations


class RewardCoderError(Exception):
    """Base class of user-facing errors: the message is the whole story, no traceback is shown."""

    exit_code: int = 2


class ConfigError(RewardCoderError):
    """Bad command-line input or configuration (empty task, bad option value, unwritable folder)."""


class UnknownEnvError(RewardCoderError):
    """No env card matches the requested environment id."""


class CardError(RewardCoderError):
    """An env card file is malformed."""


class LLMError(RewardCoderError):
    """Base of LLM-layer failures."""


class LLMConfigError(LLMError):
    """The model string is unknown or its key / endpoint is not configured."""


class LLMUnavailableError(LLMError):
    """The provider could not be reached or kept failing after bounded retries."""


class ReplayMissError(LLMError):
    """A replay file has no recorded answer for a request."""


class IsolationError(RewardCoderError):
    """No sandbox is available and the user did not accept running without one."""


class WriteError(ConfigError):
    """A file or folder could not be written (disk full, read-only file system, no permission).

    The message names the path and the reason, and says what to do; nothing half-written is left behind.
    """


def write_fix(err: OSError) -> str:
    """What to do about a failed write, by its errno: free space, a writable file system, permissions."""
    import errno

    fixes = {
        errno.ENOSPC: "free disk space, then try again",
        errno.EDQUOT: "free space in your disk quota, then try again",
        errno.EROFS: "use a folder on a writable disk",
        errno.EACCES: "fix the folder's permissions or use another folder",
        errno.EPERM: "fix the folder's permissions or use another folder",
    }
    return fixes.get(err.errno, "check free disk space and the folder's permissions")


def write_failure(path: object, err: OSError, doing: str = "write") -> WriteError:
    """The one-line WriteError for `err` raised while doing `doing` ('write', 'append to') at `path`."""
    return WriteError(f"could not {doing} '{path}': {err.strerror or err}; {write_fix(err)}")
