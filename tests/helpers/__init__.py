"""Plain helpers the test modules share, one module per feature (fixtures and what every
feature shares are in tests/conftest.py). A test module never imports another test module."""
