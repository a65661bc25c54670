"""Email templates: Jinja2 in a sandbox, checked when saved, rendered per recipient."""
