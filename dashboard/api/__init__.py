"""The REST API: views, request/response schemas, error codes and the OpenAPI document."""
