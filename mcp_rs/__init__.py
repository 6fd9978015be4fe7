"""mcp_rs: an MCP resource server that accepts only tokens the Django AS issued for it (RFC 7662 introspection)."""
