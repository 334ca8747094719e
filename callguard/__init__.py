"""CallGuard: puts the telephone parts of a service-user contact policy into practice."""

__version__ = "0.1.0"
