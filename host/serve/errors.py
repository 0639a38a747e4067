"""Errors a client sees, shaped as OpenAI's API shapes them, so its SDKs raise their usual exceptions
(400 -> BadRequestError, 401 -> AuthenticationError, 404 -> NotFoundError, 429 -> RateLimitError)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the server refuses; `body()` is the JSON the client gets."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", param, code)
