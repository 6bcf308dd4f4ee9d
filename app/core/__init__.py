"""What every layer uses: settings, errors, security, logging. Imports nothing else of the app."""
