from eventcrm.cli import app

app()
