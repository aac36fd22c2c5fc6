"""The Model Context Protocol server: the corpus's tools and articles for MCP clients."""
