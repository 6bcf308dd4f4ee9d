"""E-mail: the messages the service sends, and their delivery (to the log, or by SMTP)."""
