"""The exception tree.

Every failure is an ``ImportError`` so that ordinary ``try/except ImportError``
code keeps working when a generated import fails::

    AutogenHookError (ImportError)
    ├── SettingsError (also ValueError)        a setting has a bad value
    ├── NotGeneratedError (ModuleNotFoundError) offline and not in the store
    ├── InvalidNameError                       a module or name that is never generated
    ├── GenerationCycleError                   generating X needs X itself
    ├── StoreError                             the store could not be written
    ├── NotAcceptedError                       review is on and the module is not accepted
    ├── ExampleError                           an example of the user's cannot be evaluated
    ├── PluginError                            a prompt plugin or validator failed
    ├── ValidationFailedError                  every attempt produced unusable code
    └── ProviderError                          the model could not be asked
        ├── MissingCredentialsError            a key or id is not set
        ├── ProviderHTTPError                  the server answered with an error
        │   └── AuthenticationError            401/403: the credential was refused
        ├── ProviderUnavailableError           no answer (connection, timeout, circuit open)
        └── ProviderResponseError              the answer is not the expected wire format

Messages say what happened and what to do next; ``name`` is the module concerned.
"""

from __future__ import annotations

from collections.abc import Sequence


class AutogenHookError(ImportError):
    """Base class of every autogen-hook error."""

    def __init__(self, message: str, *, module: str | None = None) -> None:
        super().__init__(message, name=module)


class SettingsError(AutogenHookError, ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


class NotGeneratedError(AutogenHookError, ModuleNotFoundError):
    """Offline mode is on and the store has no source for what was imported."""


class InvalidNameError(AutogenHookError):
    """The import asks for a module or name the hook never generates (private, not an identifier)."""


class GenerationCycleError(AutogenHookError):
    """Generating a module led, through its own imports, back to itself."""


class StoreError(AutogenHookError):
    """The generated module could not be written to the store."""


class NotAcceptedError(AutogenHookError):
    """The ``review`` setting asks for a stored module to be accepted before it runs, and
    it is not: refused at the prompt, or no terminal to ask on. The message names the
    ``autogen-hook accept`` command."""
class ExampleError(AutogenHookError):
    """An example the user gave cannot be evaluated (not Python, not one expression, a private
    name, nothing of the module in it): the user's error, so it is never sent to the model."""


class PluginError(AutogenHookError):
    """An installed prompt plugin or validator raised, or returned something unusable: its
    failure, not the model's, so it is never retried; the message names the plugin."""


class ValidationFailedError(AutogenHookError):
    """The model never produced a module that passed validation.

    ``problems`` holds one entry per attempt, in order. The message ends with what to
    do about those problems (see ``_hints``).
    """

    def __init__(self, module: str, problems: Sequence[str], described: bool = False) -> None:
        self.problems = list(problems)
        lines = [
            f"could not generate a valid {module}: all {len(self.problems)} attempts "
            "failed validation:"
        ]
        lines += [f"  attempt {n}: {p}" for n, p in enumerate(self.problems, 1)]
        lines += _hints(self.problems, _DESCRIBED if described else _DESCRIBE)
        super().__init__("\n".join(lines), module=module)


_DESCRIBE = "describe the module (autogen_hook.describe or [tool.autogen-hook.descriptions])"
_DESCRIBED = "say more in the module's description (it has one; the model did not follow it)"


def _hints(problems: Sequence[str], describe: str) -> list[str]:
    """What to do, one line per kind of problem met, in the order first met.

    Problems are recognised by the wording of the checks that report them (the
    validation and the pipeline); anything else gets the general advice.
    """
    hints: list[str] = []
    for problem in problems:
        hint = _hint(problem, problems, describe)
        if hint not in hints:
            hints.append(hint)
    return hints


def _hint(problem: str, problems: Sequence[str], describe: str) -> str:
    if "cut off at max-tokens" in problem:
        return (
            "The answer was cut off: raise max-tokens (AUTOGEN_HOOK_MAX_TOKENS), or ask for a "
            "smaller module."
        )
    if "held no code" in problem:
        return (
            f"The model answered without code: {describe} so it knows what to write, or use a "
            "model that writes code."
        )
    if problem.startswith("the safety policy refused"):
        needed = ", ".join(f'"{grant}"' for grant in _grants_asked(problems))
        return (
            f"If the module truly needs what it was refused, grant it: allow = [{needed}] under "
            "[tool.autogen-hook] (every module), or a [tool.autogen-hook.grants] entry for this "
            f"module; else {describe} to say what to do without."
        )
    if "which is not installed here" in problem:
        missing = problem.partition("imports '")[2].partition("'")[0].split(".")[0] or "it"
        return (
            f"The model wants {missing}, which is not installed: install the package that "
            f"provides it, or {describe} to say it must do without."
        )
    if "what its examples say" in problem or "do not fit the module's signatures" in problem:
        return (
            "The module did not do what the examples or the calls in your code say (each failure "
            f"above shows what was expected): check that they are right, {describe} more "
            "precisely, use a stronger model, or write the module yourself."
        )
    if "names are not defined" in problem or "must keep every name" in problem:
        return (
            f"The model did not write the names asked for: {describe}, saying what each "
            "name is."
        )
    return (
        f"{describe[0].upper()}{describe[1:]}, use a stronger model, raise max-attempts, or "
        "write the module yourself."
    )


def _grants_asked(problems: Sequence[str]) -> list[str]:
    """Every grant the policy's refusals name, in order: ``(needs 'process'`` and
    ``allow = ["yaml"]``."""
    grants: list[str] = []
    for problem in problems:
        for marker, end in (("(needs '", "'"), ('allow = ["', '"')):
            for piece in problem.split(marker)[1:]:
                grant = piece.partition(end)[0]
                if grant and grant not in grants:
                    grants.append(grant)
    return grants


class ProviderError(AutogenHookError):
    """The provider could not be asked, or did not answer usefully.

    ``transient`` errors (connection failures, timeouts, 408/409/429/5xx/529)
    are retried with backoff, waiting ``retry_after`` seconds when the server
    said so; the others fail at once.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        module: str | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(message, module=module)


class MissingCredentialsError(ProviderError):
    """A credential the provider needs is not set; the message names the variable."""


class ProviderHTTPError(ProviderError):
    """The provider answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int,
        body: str,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.body = body
        super().__init__(
            message, provider=provider, transient=transient, retry_after=retry_after
        )


class AuthenticationError(ProviderHTTPError):
    """The provider refused the credential (401 or 403)."""


class ProviderUnavailableError(ProviderError):
    """The provider could not be reached, timed out, or its circuit is open."""


class ProviderResponseError(ProviderError):
    """The provider's answer did not have the expected shape."""


for _error in list(globals().values()):  # tracebacks say autogen_hook.X, the public name
    if isinstance(_error, type) and issubclass(_error, AutogenHookError):
        _error.__module__ = "autogen_hook"
