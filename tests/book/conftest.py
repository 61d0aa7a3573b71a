"""tests/book: the built site (see test_book.py)."""
