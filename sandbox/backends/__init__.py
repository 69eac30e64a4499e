"""Sandbox backends. Each module defines one class with the shape of `base.Backend`."""
