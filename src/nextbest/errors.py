"""Errors that nextbest raises for problems a user can fix."""


class NextbestError(Exception):
    """A problem with the user's input or settings that the user can fix.

    The command line prints the message of these errors without a traceback and exits with
    status 1. Messages name what is wrong, the value received, and what to do about it.
    """


class InputFileError(NextbestError):
    """A file that cannot be read as expected.

    Parameters
    ----------
    path : str or os.PathLike
        The file at fault.
    problem : str
        What is wrong, as a sentence.
    line : int, optional
        1-based line number in the file, when one line is at fault.
    column : str, optional
        Column name, when one column is at fault.
    value : str, optional
        The offending value as read.
    fix : str, optional
        What the user can do about it.
    """

    def __init__(self, path, problem, *, line=None, column=None, value=None, fix=None):
        self.path = str(path)
        self.problem = problem
        self.line = line
        self.column = column
        self.value = value
        self.fix = fix
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.path
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column!r}"
        message = f"{where}: {self.problem}"
        if self.value is not None:
            message += f" (value: {self.value!r})"
        if self.fix:
            message += f". {self.fix}"
        return message
