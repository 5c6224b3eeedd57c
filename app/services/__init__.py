"""What the views do, as plain functions over the shared objects (no request objects here)."""
