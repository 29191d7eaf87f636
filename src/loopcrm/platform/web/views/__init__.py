"""The platform's pages: account, home, module placeholders and administration."""
