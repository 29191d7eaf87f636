"""LoopCRM: customer data, insight, action and feedback in one closed loop."""

__version__ = "0.1.0"
