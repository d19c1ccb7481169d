"""A callback the loop tests share: Ctrl-C after a given epoch."""


class Interrupt:
    """Ctrl-C after epoch ``after`` (1-based), once every other callback saw the epoch."""

    order = 1000

    def __init__(self, after):
        self.after = after

    def after_epoch(self, state):
        if state.epoch + 1 == self.after:
            raise KeyboardInterrupt
