"""The phone-system edge: Twilio webhooks in, TwiML out. Imports ``callguard``; never the
reverse (except the composition root, ``callguard.bootstrap``)."""

from webhooks.routes import install

__all__ = ["install"]
