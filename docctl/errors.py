"""Project exceptions; the web layer maps each kind to an HTTP status."""


class DocctlError(Exception):
    """Base of every error docctl raises on purpose."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", **details):
        super().__init__(message or self.__class__.__doc__)
        self.message = message or (self.__class__.__doc__ or "")
        self.details = details


class ValidationError(DocctlError):
    """The input is not acceptable."""

    status = 400
    code = "invalid"


class NotFound(DocctlError):
    """No such object, or not visible to you."""

    status = 404
    code = "not_found"


class Forbidden(DocctlError):
    """You may not do this."""

    status = 403
    code = "forbidden"


class Conflict(DocctlError):
    """The object is not in a state that allows this."""

    status = 409
    code = "conflict"


class Gone(DocctlError):
    """It existed and was destroyed on purpose (a disposed record's content)."""

    status = 410
    code = "gone"


class InvalidTransition(Conflict):
    """This lifecycle step is not allowed from the current status."""

    code = "invalid_transition"


class TooLarge(DocctlError):
    """The upload is larger than allowed."""

    status = 413
    code = "too_large"


class UnsupportedFile(DocctlError):
    """The file is not a Word document docctl accepts."""

    status = 415
    code = "unsupported_file"


class SignatureError(Forbidden):
    """The electronic signature could not be made."""

    code = "signature_failed"


class StoreError(DocctlError):
    """The git store failed or is inconsistent."""

    status = 500
    code = "store_error"


class StoreLockTimeout(StoreError):
    """Another writer holds the store lock for too long."""

    status = 503
    code = "store_busy"


class IntegrityFailure(DocctlError):
    """Stored content does not match its recorded hash."""

    status = 409
    code = "integrity_failure"


class StaleHead(StoreError):
    """Git moved between reading the store's head and committing."""

    status = 409
    code = "stale_head"


class TagExists(StoreError):
    """The tag a change would create exists already: another request made that change."""

    status = 409
    code = "tag_exists"


class InProgress(DocctlError):
    """The same change is being completed by another request or by the scheduler."""

    status = 503
    code = "in_progress"


class Busy(DocctlError):
    """The database stayed locked past the busy timeout; try again in a moment."""

    status = 503
    code = "busy"


class StorageFull(DocctlError):
    """The server ran out of storage space; nothing was saved."""

    status = 507
    code = "storage_full"
