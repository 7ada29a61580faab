"""gptplay: a terminal playground for prompting language models."""

__version__ = "0.1.0"
