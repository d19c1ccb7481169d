"""``python -m trainwell``."""

from trainwell.cli import run

if __name__ == "__main__":
    run()
