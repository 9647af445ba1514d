"""Support for manage.py: custom commands and one-line error reporting."""
