"""The Redis data model: one module per concern, each owning and listing its keys."""
