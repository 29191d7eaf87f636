"""The REST API's conventions: problem documents, request ids, body limits, ETags, idempotency."""
