"""The API edge shared by the functions behind the orders API: per-API-key rate limiting (GCRA in
DynamoDB), request-size limits, and the error responses and OpenAPI pieces every route uses.

Bundled with the services that serve API routes (orders, inventory); see README.md."""
