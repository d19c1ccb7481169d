"""Bridges to other training frameworks; each needs its optional extra.

``trainwell.integrations.lightning``: :class:`WatchCallback`, the live monitor as a PyTorch
Lightning callback (``pip install trainwell[lightning]``).
"""

__all__: list[str] = []
